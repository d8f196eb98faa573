import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { bytesFile, contentTypeFor } from '../../src/model/output-file.js';
import { makePlan } from '../../src/model/plan.js';
import { createStaticServer } from '../../src/serve/static-server.js';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { buildListings } from '../../src/site/build-site.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { putOutput } from '../../src/transaction/apply.js';
import { repoRoot, scratchRoot } from '../support/paths.js';
import { describeWithTools, toolsMissing } from '../support/tools.js';

const CHROMIUM = '/usr/bin/chromium';
const shots = join(repoRoot, 'test-artifacts', 'screenshots');
const DEB = 'packages/deb/stable/falco_0.39.0_amd64.deb';
const KO = 'driver/7.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko';
const EVIL_DEB = 'packages/deb/stable/<script>alert(1)</script>.deb';
const QUOTE_RPM = `packages/rpm/a"b'.rpm`;

let scratch: string;
let tree: string;
let server: Server;
let plain: Server;
let base: string;
let plainBase: string;
let browser: Browser;
let fingerprint: string;
const dialogs: string[] = [];
const cspErrors: string[] = [];

function listen(s: Server): Promise<string> {
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );
}

/** A bucket without server logic: files only, no ?prefix= redirect, no folder index documents. */
function plainBucket(root: string): Server {
  return createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path));
    stat(file)
      .then((st) => {
        if (!st.isFile() || !file.startsWith(root)) throw new Error('not a file');
        res.writeHead(200, { 'content-type': contentTypeFor(file), 'content-length': st.size });
        createReadStream(file).pipe(res);
      })
      .catch(() => {
        res.writeHead(404).end('NoSuchKey');
      });
  });
}

async function newPage(javaScriptEnabled = true): Promise<Page> {
  const ctx = await browser.newContext({ javaScriptEnabled, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  return page;
}

/** The link of a listing row (not the install section's links of the same name). */
function entry(page: Page, name: string) {
  return page.locator('#entries').getByRole('link', { name, exact: true });
}

/** Clicks a link and waits for the page it leads to. */
async function follow(page: Page, link: ReturnType<Page['locator']>): Promise<void> {
  await Promise.all([page.waitForEvent('load'), link.click()]);
}

async function heading(page: Page): Promise<string> {
  return (await page.locator('h1').textContent()) ?? '';
}

/** The Bytes cell of the row for `name` in the current listing. */
async function bytesOf(page: Page, name: string): Promise<number> {
  const row = page.locator('tr[data-name]').filter({ has: page.getByRole('link', { name, exact: true }) });
  return Number(await row.locator('td.exact').textContent());
}

describeWithTools(
  'browsable listings in Chromium',
  toolsMissing([CHROMIUM], 'apt-get install chromium'),
  () => {
    beforeAll(async () => {
      await mkdir(scratchRoot, { recursive: true });
      await mkdir(shots, { recursive: true });
      scratch = await mkdtemp(join(scratchRoot, 'site-browser-'));
      tree = join(scratch, 'public');
      server = createStaticServer(tree);
      base = await listen(server);
      plain = plainBucket(tree);
      plainBase = await listen(plain);

      const key = await generateKeyPair({
        name: 'Site Test',
        email: 'site@example.invalid',
        type: 'ed25519',
      });
      fingerprint = key.fingerprint;
      const cfg = resolveConfig({ project: 'falco', base_url: base });
      const files: Record<string, Uint8Array | string> = {
        [DEB]: randomBytes(123_457),
        [`${DEB}.asc`]: '-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n',
        'packages/deb/stable/falco_0.38.2_amd64.deb': randomBytes(2_345_678),
        'packages/deb/stable/falco_0.38.1_amd64.deb': randomBytes(999),
        [EVIL_DEB]: 'evil',
        'packages/deb/dists/stable/InRelease': 'Origin: falco\n',
        'packages/rpm/falco-0.39.0-x86_64.rpm': randomBytes(4321),
        [QUOTE_RPM]: 'quotes',
        [KO]: randomBytes(54_321),
        'driver/site/index.html': '<!doctype html><title>driver browser</title><h1>driver browser</h1>',
        'keys/falco-packages.asc': key.publicArmored,
      };
      for (let i = 0; i < 25; i++) files[`packages/bin/x86_64/falco-0.${i}.0-x86_64.tar.gz`] = `tarball ${i}`;
      const outs = Object.entries(files).map(([k, v]) => bytesFile(k, 'blob', v));
      const store = new FsStore(tree);
      for (const o of outs) await putOutput(store, o);
      // A plan as a publish makes it; the fingerprint comes from the published key.
      const plan = makePlan(outs, new Map(), []);
      const site = await buildListings({
        store,
        cfg,
        plan,
        now: new Date('2024-06-01T12:00:00Z'),
        pageSize: 20,
      });
      for (const f of site.files) await putOutput(store, f);

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => server?.close(r));
      await new Promise((r) => plain?.close(r));
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('root page explains how to install and follows links down to a .deb', async () => {
      const page = await newPage();
      await page.goto(`${base}/`);
      expect(await heading(page)).toBe('falco downloads');
      const pre = await page.locator('pre').allTextContents();
      expect(pre.join('\n')).toContain(
        `deb [signed-by=/usr/share/keyrings/falco-packages.asc] ${base}/packages/deb stable main`,
      );
      expect(pre.join('\n')).toContain('Signed-By: /usr/share/keyrings/falco-packages.asc');
      expect(pre.join('\n')).toContain(`dnf config-manager --add-repo ${base}/packages/rpm/falco.repo`);
      const fpr = (await page.locator('code.fpr').textContent()) ?? '';
      expect(fpr.replace(/\s/g, '')).toBe(fingerprint);
      expect(await page.getByRole('link', { name: 'search drivers by kernel' }).getAttribute('href')).toBe(
        'driver/site/index.html',
      );
      await page.screenshot({ path: join(shots, 'site-root.png'), fullPage: true });

      await follow(page, entry(page, 'packages/'));
      await follow(page, entry(page, 'deb/'));
      await follow(page, entry(page, 'stable/'));
      expect(new URL(page.url()).pathname).toBe('/packages/deb/stable/index.html');
      expect(await heading(page)).toBe('Index of /packages/deb/stable/');
      // Folders first.
      const names = await page
        .locator('tr[data-name]')
        .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.name));
      expect(names[0]).toBe('<script>alert(1)<');
      const real = (await stat(join(tree, DEB))).size;
      expect(await bytesOf(page, 'falco_0.39.0_amd64.deb')).toBe(real);
      const row = page.locator('tr[data-name="falco_0.39.0_amd64.deb"]');
      expect(await row.locator('td.num').first().textContent()).toBe('120.6 KiB');
      // The .asc is a link beside its file, not a row of its own.
      expect(await page.locator('tr[data-name="falco_0.39.0_amd64.deb.asc"]').count()).toBe(0);
      const ascHref = await row.locator('a.asc').getAttribute('href');
      expect((await page.request.get(new URL(ascHref!, page.url()).href)).status()).toBe(200);
      expect(await row.locator('td.sha code').textContent()).toMatch(/^[0-9a-f]{64}$/);
      await page.screenshot({ path: join(shots, 'site-deb-stable.png'), fullPage: true });

      const [download] = await Promise.all([
        page.request.get(new URL((await row.locator('a').first().getAttribute('href'))!, page.url()).href),
      ]);
      expect(download.status()).toBe(200);
      expect((await download.body()).length).toBe(real);
      // Breadcrumbs lead back up.
      await follow(page, page.locator('.crumbs a', { hasText: 'packages' }));
      expect(await heading(page)).toBe('Index of /packages/');
    });

    it('follows links down to a driver whose folder name holds a +', async () => {
      const page = await newPage();
      await page.goto(`${base}/`);
      await follow(page, entry(page, 'driver/'));
      await follow(page, entry(page, '7.0.0+driver/'));
      expect(page.url()).toContain('/driver/7.0.0%2Bdriver/index.html');
      await follow(page, entry(page, 'x86_64/'));
      const name = KO.split('/').pop()!;
      expect(await bytesOf(page, name)).toBe((await stat(join(tree, KO))).size);
      const href = await page.getByRole('link', { name, exact: true }).getAttribute('href');
      const res = await page.request.get(new URL(href!, page.url()).href);
      expect(res.status()).toBe(200);
      expect((await res.body()).length).toBe(54_321);
      await page.screenshot({ path: join(shots, 'site-driver.png'), fullPage: true });
      // The driver browser keeps its index.html; the folder's listing is listing.html beside it.
      await page.goto(`${base}/driver/site/index.html`);
      expect(await heading(page)).toBe('driver browser');
      await page.goto(`${base}/driver/site/listing.html`);
      expect(await page.locator('tr[data-name="index.html"]').count()).toBe(1);
    });

    it('shows hostile names as text and runs nothing', async () => {
      const page = await newPage();
      await page.goto(`${base}/packages/deb/stable/`);
      const evil = page.getByRole('link', { name: '<script>alert(1)</', exact: true });
      expect(await evil.isVisible()).toBe(true);
      await follow(page, evil);
      expect(await heading(page)).toBe('Index of /packages/deb/stable/<script>alert(1)</');
      const file = page.getByRole('link', { name: 'script>.deb', exact: true });
      const res = await page.request.get(new URL((await file.getAttribute('href'))!, page.url()).href);
      expect(res.status()).toBe(200);
      expect(await res.text()).toBe('evil');
      await page.screenshot({ path: join(shots, 'site-escaping.png'), fullPage: true });

      await page.goto(`${base}/packages/rpm/`);
      const quoted = page.getByRole('link', { name: `a"b'.rpm`, exact: true });
      expect(await quoted.isVisible()).toBe(true);
      const q = await page.request.get(new URL((await quoted.getAttribute('href'))!, page.url()).href);
      expect(await q.text()).toBe('quotes');
      // No element came from a name: the only scripts are the listing's own.
      const scripts = await page
        .locator('script')
        .evaluateAll((s) => s.map((x) => (x as HTMLScriptElement).src));
      expect(scripts).toHaveLength(1);
      expect(scripts[0]).toContain('/_site/listing.js');
      expect(dialogs).toEqual([]);
    });

    it('works with JavaScript off: links, sizes and pages', async () => {
      const page = await newPage(false);
      await page.goto(`${base}/`);
      expect(await page.locator('#filter').count()).toBe(0);
      await follow(page, entry(page, 'packages/'));
      await follow(page, entry(page, 'bin/'));
      await follow(page, entry(page, 'x86_64/'));
      // 25 files at 20 per page: two pages with next/prev links.
      expect(await page.locator('tr[data-name]').count()).toBe(20);
      await follow(page, page.locator('a[rel="next"]').first());
      expect(new URL(page.url()).pathname).toBe('/packages/bin/x86_64/index-2.html');
      expect(await page.locator('tr[data-name]').count()).toBe(5);
      await page.screenshot({ path: join(shots, 'site-nojs-page2.png'), fullPage: true });
      await page.goto(`${base}/packages/deb/stable/`);
      expect(await bytesOf(page, 'falco_0.38.2_amd64.deb')).toBe(2_345_678);
      // The server's redirect serves ?prefix= even without the script.
      await page.goto(`${base}/?prefix=packages/deb/`);
      expect(await heading(page)).toBe('Index of /packages/deb/');
    });

    it('sorts by a click on a column header and filters by name, with JavaScript on', async () => {
      const page = await newPage();
      await page.goto(`${base}/packages/deb/stable/`);
      const order = () =>
        page.locator('tr[data-name]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.name));
      expect(await order()).toEqual([
        '<script>alert(1)<',
        'falco_0.38.1_amd64.deb',
        'falco_0.38.2_amd64.deb',
        'falco_0.39.0_amd64.deb',
      ]);
      await page.getByRole('button', { name: 'Size' }).click();
      // Largest first; folders stay on top.
      expect(await order()).toEqual([
        '<script>alert(1)<',
        'falco_0.38.2_amd64.deb',
        'falco_0.39.0_amd64.deb',
        'falco_0.38.1_amd64.deb',
      ]);
      expect(await page.locator('th[data-sort="size"]').getAttribute('aria-sort')).toBe('descending');
      await page.getByRole('button', { name: 'Size' }).click();
      expect((await order()).slice(1)).toEqual([
        'falco_0.38.1_amd64.deb',
        'falco_0.39.0_amd64.deb',
        'falco_0.38.2_amd64.deb',
      ]);
      await page.getByRole('button', { name: 'Name' }).click();
      await page.locator('#filter').fill('0.38');
      expect(await page.locator('tr[data-name]:visible').count()).toBe(2);
      await page.screenshot({ path: join(shots, 'site-sorted-filtered.png'), fullPage: true });
      expect(cspErrors).toEqual([]);
    });

    it('?prefix=packages/deb/ on the root leads to that folder, also from a plain bucket', async () => {
      const page = await newPage();
      await page.goto(`${base}/?prefix=packages/deb/`);
      expect(await heading(page)).toBe('Index of /packages/deb/');
      // No server logic: the root's script redirects.
      await page.goto(`${plainBase}/index.html?prefix=packages/deb/`);
      await page.waitForURL('**/packages/deb/index.html');
      expect(await heading(page)).toBe('Index of /packages/deb/');
      // A prefix cannot lead off the tree.
      await page.goto(`${plainBase}/index.html?prefix=${encodeURIComponent('//evil.example/../x')}`);
      await page.waitForLoadState('load');
      expect(new URL(page.url()).origin).toBe(plainBase);
      expect(dialogs).toEqual([]);
    });
  },
);
