import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative, sep } from 'node:path';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDriver } from '../../src/artifacts/read-driver.js';
import { runDrivers } from '../../src/commands/drivers.js';
import { recordingReporter } from '../../src/commands/reporter.js';
import { type ResolvedConfig, resolveConfig } from '../../src/config/resolve.js';
import { runTransaction } from '../../src/transaction/transaction.js';
import { buildDrivers } from '../../src/repos/drivers/build-drivers.js';
import { readDriverState } from '../../src/repos/drivers/read-driver-state.js';
import { driverSiteFiles } from '../../src/repos/drivers/site-files.js';
import { createStaticServer } from '../../src/serve/static-server.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

interface Entry {
  lib: string;
  arch: string;
  name: string;
  download: string;
  sizebytes: number;
}

let scratch: string;
let repo: string;
let server: Server;
let base: string;
let cfg: ResolvedConfig;
let configFile: string;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/** One publish of driver files through the transaction, with the drivers section's state and builder. */
async function publishDrivers(paths: string[]) {
  const store = new FsStore(repo);
  const drivers = await Promise.all(paths.map((p) => readDriver(p)));
  const tx = await runTransaction(
    { store, cfg, command: 'test publish' },
    {
      async describe(ctx) {
        const state = await readDriverState(ctx.store, cfg, new Set(drivers.map((d) => d.driverVersion)));
        const res = buildDrivers({ cfg, state, drivers, now: ctx.now });
        const outputs = [
          ...res.blobs,
          ...res.files,
          ...(res.changed ? await driverSiteFiles(cfg, res.versions) : []),
        ];
        return { outputs, garbage: res.garbage, report: res };
      },
    },
  );
  return { res: tx.report, applied: tx.applied! };
}

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(`${base}${path}`);
  expect(r.status, path).toBe(200);
  return (await r.json()) as T;
}

beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'drivers-serve-'));
  repo = join(scratch, 'public');
  mkdirSync(repo);
  server = createStaticServer(repo);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cfg = resolveConfig({}, { baseUrl: base });
  configFile = join(scratch, 'pkgpub.yaml');
  // No earlier generation kept: a prune then deletes the removed drivers at once (with history on
  // they wait until trimmed: test/e2e/drivers-rollback.test.ts).
  writeFileSync(configFile, `base_url: ${base}\nrollback:\n  generations: 0\n`);
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(scratch, { recursive: true, force: true });
});

const driverRoot = join(fixturesDir, 'driver');
const fixtureFiles = (ver: string) =>
  filesUnder(join(driverRoot, ver)).map((f) => join(driverRoot, ver, ...f.split('/')));

describe('published drivers on pkgpub serve', () => {
  it('answers every download URL of the driver indexes, as %2B and as a literal +', async () => {
    const one = await publishDrivers(fixtureFiles('7.0.0+driver'));
    expect(one.res.changes.added).toHaveLength(40);
    const two = await publishDrivers([...fixtureFiles('8.0.0+driver'), ...fixtureFiles('7.0.0+driver')]);
    expect(two.res.changes.added).toHaveLength(40);
    expect(two.res.changes.unchanged).toHaveLength(40);

    const versions = await getJson<string[]>('/driver/site/index.json');
    expect(versions).toEqual(['8.0.0+driver', '7.0.0+driver']);
    let checked = 0;
    for (const v of versions) {
      const doc = await getJson<{ drivers: Entry[] }>(`/driver/site/${encodeURIComponent(v)}.json`);
      expect(doc.drivers).toHaveLength(40);
      for (const d of doc.drivers) {
        expect(d.download.startsWith(`${base}/driver/${v.replace('+', '%2B')}/`)).toBe(true);
        const want = readFileSync(join(driverRoot, d.lib, d.arch, d.name));
        for (const url of [d.download, d.download.replaceAll('%2B', '+')]) {
          const r = await fetch(url);
          expect(r.status, url).toBe(200);
          expect(Buffer.from(await r.arrayBuffer()).equals(want), url).toBe(true);
          expect(Number(r.headers.get('content-length'))).toBe(d.sizebytes);
          checked++;
        }
      }
    }
    expect(checked).toBe(160);

    const page = await fetch(`${base}/driver/site/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('href="8.0.0%2Bdriver.json"');
    expect(html).toContain('href="../7.0.0%2Bdriver/"');
    for (const asset of ['drivers.js', 'drivers.css'])
      expect((await fetch(`${base}/driver/site/${asset}`)).status).toBe(200);
  });

  it('prunes old driver versions: a dry run lists every DELETE and changes nothing; --apply removes them', async () => {
    const before = filesUnder(repo);
    const doomed = before.filter((k) => k.startsWith('driver/7.0.0+driver/'));
    // 40 driver files, and the listing page + listing.json of the version folder and its 2 arch folders.
    expect(doomed).toHaveLength(46);

    const dry = recordingReporter();
    await runDrivers(['prune', '--keep', '1', '--to', repo, '--config', configFile], dry);
    expect(filesUnder(repo)).toEqual(before);
    const deletes = dry.lines.filter((l) => l.startsWith('DELETE ')).map((l) => l.slice(7).trim());
    expect(deletes.sort()).toEqual([...doomed, 'driver/site/7.0.0+driver.json'].sort());
    expect(dry.lines.some((l) => /^PUT\s+driver\/site\/index\.json/.test(l))).toBe(true);
    expect(dry.lines.join('\n')).toMatch(/--apply/);

    const applied = recordingReporter();
    await runDrivers(['prune', '--keep', '1', '--to', repo, '--config', configFile, '--apply'], applied);
    const after = filesUnder(repo);
    expect(after.filter((k) => k.includes('7.0.0+driver'))).toEqual([]);
    expect(after.filter((k) => k.startsWith('driver/8.0.0+driver/'))).toHaveLength(46);
    expect(await getJson<string[]>('/driver/site/index.json')).toEqual(['8.0.0+driver']);
    expect(
      (await fetch(`${base}/driver/7.0.0%2Bdriver/x86_64/falco_debian_6.1.0-13-amd64_1.ko`)).status,
    ).toBe(404);
    expect((await fetch(`${base}/driver/8.0.0+driver/x86_64/falco_debian_6.1.0-13-amd64_1.ko`)).status).toBe(
      200,
    );
    expect(await (await fetch(`${base}/driver/site/`)).text()).not.toContain('7.0.0');
    // The driver/ folder's own listing is re-rendered by the prune: no link to the removed version.
    const driverPage = await (await fetch(`${base}/driver/`)).text();
    expect(driverPage).toContain('8.0.0+driver');
    expect(driverPage).not.toContain('7.0.0');

    const nothing = recordingReporter();
    await runDrivers(['prune', '--keep', '1', '--to', repo, '--config', configFile, '--apply'], nothing);
    expect(nothing.lines.join('\n')).toMatch(/pruned 0 driver versions.*0 objects deleted, 0 written/);
    expect(filesUnder(repo)).toEqual(after);
  });

  it('refuses a missing or bad --keep', async () => {
    for (const args of [['prune'], ['prune', '--keep', '0'], ['prune', '--keep', 'two'], ['tidy']]) {
      await expect(runDrivers([...args, '--to', repo], recordingReporter())).rejects.toMatchObject({
        code: 'usage',
      });
    }
  });
});
