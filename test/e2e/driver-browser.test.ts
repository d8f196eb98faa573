import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ResolvedConfig, resolveConfig } from '../../src/config/resolve.js';
import { bytesFile } from '../../src/model/output-file.js';
import type { OutputFile } from '../../src/model/tiers.js';
import { driverDownloadUrl } from '../../src/repos/drivers/build-drivers.js';
import {
  type DriverEntry,
  encodeDriverVersionDoc,
  renderVersionList,
} from '../../src/repos/drivers/driver-index.js';
import { driverSiteFiles } from '../../src/repos/drivers/site-files.js';
import { createStaticServer } from '../../src/serve/static-server.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { putOutput } from '../../src/transaction/apply.js';
import { repoRoot, scratchRoot } from '../support/paths.js';
import { describeWithTools, toolsMissing } from '../support/tools.js';

const CHROMIUM = '/usr/bin/chromium';
const BIG = '9.0.0+driver';
const SMALL = '8.0.0+driver';
const COUNT = 100_000;
const TARGETS = [
  'ubuntu-generic',
  'ubuntu-aws',
  'debian',
  'amazonlinux2',
  'rocky',
  'fedora',
  'minikube',
  'bottlerocket',
];
const shots = join(repoRoot, 'test-artifacts', 'screenshots');

let scratch: string;
let server: Server;
let base: string;
let context: BrowserContext;
let page: Page;

/** Synthetic but well-formed entries: kernel i is `6.1.<i>-cloud`, so each kernel names exactly two drivers. */
function entries(cfg: ResolvedConfig, lib: string, n: number): DriverEntry[] {
  const out: DriverEntry[] = [];
  for (let i = 0; i < n; i++) {
    const target = TARGETS[i % TARGETS.length]!;
    const arch = i % 4 < 2 ? 'x86_64' : 'aarch64';
    const kernelrelease = `6.1.${Math.floor(i / 2)}-cloud`;
    const kind = i % 2 === 0 ? 'kmod' : 'ebpf';
    const name = `falco_${target}_${kernelrelease}_1.${kind === 'kmod' ? 'ko' : 'o'}`;
    out.push({
      lib,
      arch,
      kind,
      kernel: `${kernelrelease}_1`,
      kernelrelease,
      kernelversion: '1',
      target,
      name,
      download: driverDownloadUrl(cfg, lib, arch, name),
      sizebytes: 4096 + i,
      size: '4.0 KiB',
      lastmodified: '2024-05-01T12:00:00.000Z',
      sha256: (i.toString(16).padStart(8, '0') + 'a'.repeat(56)).slice(0, 64),
    });
  }
  return out;
}

async function statusOf(p: Page): Promise<Record<string, string>> {
  return (await p.evaluate("({ ...document.getElementById('status').dataset })")) as Record<string, string>;
}

const chromiumMissing = toolsMissing([CHROMIUM], 'apt-get install chromium');

beforeAll(async () => {
  if (chromiumMissing) return;
  mkdirSync(scratchRoot, { recursive: true });
  mkdirSync(shots, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'driver-browser-'));
  const root = join(scratch, 'public');
  server = createStaticServer(root);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cfg = resolveConfig({}, { baseUrl: base });
  const small = entries(cfg, SMALL, 40);
  // A hostile name: it must show as text and never become markup.
  small[0] = {
    ...small[0]!,
    target: '<img src=x onerror="window.__pwned=1">',
    name: '<script>window.__pwned=1</script>.ko',
  };
  const files: OutputFile[] = [
    bytesFile(
      `driver/site/${BIG}.json`,
      'index',
      encodeDriverVersionDoc('2024-05-01T12:00:00.000Z', entries(cfg, BIG, COUNT)),
    ),
    bytesFile(
      `driver/site/${SMALL}.json`,
      'index',
      encodeDriverVersionDoc('2024-05-01T12:00:00.000Z', small),
    ),
    bytesFile('driver/site/index.json', 'pointer', renderVersionList([BIG, SMALL])),
    ...(await driverSiteFiles(cfg, [BIG, SMALL])),
  ];
  const store = new FsStore(root);
  for (const f of files) await putOutput(store, f);
  context = await chromium.launchPersistentContext(join(scratch, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1400, height: 900 },
  });
  page = await context.newPage();
});

afterAll(async () => {
  await context?.close();
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describeWithTools('driver browser in Chromium', chromiumMissing, () => {
  it('loads 100,000 drivers, filters to one kernel in well under 2 s, and shares the view in the URL', async () => {
    const t0 = Date.now();
    await page.goto(`${base}/driver/site/`);
    await page.waitForFunction("document.getElementById('status').dataset.state === 'ready'", null, {
      timeout: 30_000,
    });
    const loadMs = Date.now() - t0;
    let s = await statusOf(page);
    expect(Number(s.total)).toBe(COUNT);
    expect(Number(s.matches)).toBe(COUNT);
    expect(await page.locator('#rows tr').count()).toBe(200);
    expect(await page.inputValue('#lib')).toBe(BIG);

    const t1 = Date.now();
    await page.fill('#search', '6.1.31337-cloud');
    await page.waitForFunction("document.getElementById('status').dataset.matches === '2'");
    const filterMs = Date.now() - t1;
    s = await statusOf(page);
    console.log(
      `driver browser: load ${loadMs} ms, filter to one kernel ${filterMs} ms (scan ${s.filterMs} ms) over ${COUNT} drivers`,
    );
    expect(filterMs).toBeLessThan(2000);
    const kernels = await page.locator('#rows tr td:nth-child(2)').allTextContents();
    expect(kernels).toEqual(['6.1.31337-cloud', '6.1.31337-cloud']);
    const href = await page.locator('#rows tr a').first().getAttribute('href');
    expect(href).toContain('/driver/9.0.0%2Bdriver/');
    expect(new URL(page.url()).searchParams.get('search')).toBe('6.1.31337-cloud');

    await page.selectOption('#kind', 'ebpf');
    await page.waitForFunction("document.getElementById('status').dataset.matches === '1'");
    const shared = page.url();
    expect(new URL(shared).searchParams.get('kind')).toBe('ebpf');
    await page.screenshot({ path: join(shots, 'driver-browser-filtered.png'), fullPage: false });

    // The shared link opens the same view in a fresh page.
    const other = await context.newPage();
    await other.goto(shared);
    await other.waitForFunction("document.getElementById('status').dataset.matches === '1'", null, {
      timeout: 30_000,
    });
    expect(await other.inputValue('#search')).toBe('6.1.31337-cloud');
    expect(await other.inputValue('#kind')).toBe('ebpf');
    await other.close();

    // "Show more" pages through a broad match without putting every row in the DOM.
    await page.fill('#search', '');
    await page.selectOption('#kind', '');
    await page.selectOption('#target', 'debian');
    await page.waitForFunction("document.getElementById('status').dataset.matches === '12500'");
    await page.click('#more');
    expect(await page.locator('#rows tr').count()).toBe(400);
  });

  it('shows hostile names as text and runs nothing', async () => {
    await page.goto(
      `${base}/driver/site/?lib=${encodeURIComponent(SMALL)}&search=${encodeURIComponent('<script>')}`,
    );
    await page.waitForFunction("document.getElementById('status').dataset.state === 'ready'");
    expect((await statusOf(page)).matches).toBe('1');
    expect(await page.locator('#rows tr td').first().textContent()).toBe(
      '<img src=x onerror="window.__pwned=1">',
    );
    expect(await page.locator('#rows a').first().textContent()).toBe('<script>window.__pwned=1</script>.ko');
    expect(await page.locator('#rows img, #rows script').count()).toBe(0);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await page.screenshot({ path: join(shots, 'driver-browser-escaping.png') });
  });
});
