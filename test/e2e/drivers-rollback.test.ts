import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkgpub, pkgpubProcess } from '../support/cli.js';
import { fixturesDir, repoRoot, scratchRoot } from '../support/paths.js';
import { tree } from '../support/tree.js';

/**
 * Drivers' history and rollback: the rollbacks and `drivers history` through the built CLI (`node
 * dist/src/cli.js`, `npm run build` first), the setup in-process (a process costs a second on a
 * busy machine), judged as a driver loader sees the tree: over HTTP from `pkgpub serve`, `+` as `%2B`.
 */

interface Entry {
  lib: string;
  arch: string;
  name: string;
  download: string;
  sizebytes: number;
  sha256: string;
}

let work: string;
let serve: ChildProcess | undefined;
let base: string;
const V7 = '7.0.0+driver';
const V8 = '8.0.0+driver';

/** `pkgpub serve DIR --port 0` as a user runs it; resolves to the URL it prints. */
async function startServe(dir: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist', 'src', 'cli.js'), 'serve', dir, '--port', '0', '--quiet'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  serve = child;
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /at (http:\/\/[^ /]+)\//.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`pkgpub serve exited (${code}): ${out}`)));
  });
}

/** Driver fixture files of a version, sorted, as [arch, name]. */
async function fixtureDrivers(version: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const arch of (await readdir(join(fixturesDir, 'driver', version))).sort())
    for (const name of (await readdir(join(fixturesDir, 'driver', version, arch))).sort())
      out.push([arch, name]);
  return out;
}

/** An input folder laid out as CI builds drivers: <version>/<arch>/<file>. */
async function inputs(name: string, sets: { version: string; as?: string; files: [string, string][] }[]) {
  const dir = join(work, 'in', name);
  for (const s of sets)
    for (const [arch, file] of s.files) {
      await mkdir(join(dir, s.as ?? s.version, arch), { recursive: true });
      await copyFile(
        join(fixturesDir, 'driver', s.version, arch, file),
        join(dir, s.as ?? s.version, arch, file),
      );
    }
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

const url = (key: string) => `${base}/${key.split('/').map(encodeURIComponent).join('/')}`;

async function text(key: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url(key));
  return { status: r.status, body: await r.text() };
}

/** Every driver a version json lists downloads from its own URL with the listed size and sha256. */
async function downloadsAll(doc: { drivers: Entry[] }): Promise<number> {
  let n = 0;
  for (const d of doc.drivers) {
    expect(d.download).toContain('%2B');
    const r = await fetch(d.download);
    expect(r.status, d.download).toBe(200);
    const bytes = Buffer.from(await r.arrayBuffer());
    expect(bytes.length).toBe(d.sizebytes);
    expect(createHash('sha256').update(bytes).digest('hex'), d.download).toBe(d.sha256);
    n++;
  }
  return n;
}

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'drivers-rollback-'));
  await mkdir(join(work, 'trees'), { recursive: true });
  base = await startServe(join(work, 'trees'));
});
afterAll(async () => {
  serve?.kill('SIGTERM');
  if (work) await rm(work, { recursive: true, force: true });
});

describe('drivers history and rollback through the built CLI, read back over pkgpub serve', () => {
  it('a bad publish and a prune are rolled back: index.json and the version json are byte for byte the earlier ones, every driver downloads', async () => {
    const repo = join(work, 'trees', 'main');
    const cfgFile = join(work, 'main.yaml');
    await writeFile(cfgFile, `base_url: ${base}/main\n`);
    const cli = (...args: string[]) =>
      pkgpubProcess([...args, '--to', repo, '--config', cfgFile, '--gc-grace', '0']);
    const run = (...args: string[]) =>
      pkgpub([...args, '--to', repo, '--config', cfgFile, '--gc-grace', '0']);
    const prefix = (key: string) => `main/${key}`;
    const all7 = await fixtureDrivers(V7);
    const half = all7.length / 2;

    // Version A: half of 7.0.0's drivers.
    const good = await run(
      'publish',
      await inputs('good', [{ version: V7, files: all7.slice(0, half) }]),
      '--unsigned',
    );
    expect(good.code, good.err).toBe(0);
    const indexA = await text(prefix('driver/site/index.json'));
    const docA = await text(prefix(`driver/site/${V7}.json`));
    expect(indexA.status).toBe(200);
    expect(JSON.parse(indexA.body)).toEqual([V7]);
    expect(JSON.parse(docA.body).drivers).toHaveLength(half);

    // The bad publish: the rest of 7.0.0 (its json replaced) and a whole new 8.0.0.
    const bad = await run(
      'publish',
      await inputs('bad', [
        { version: V7, files: all7.slice(half) },
        { version: V8, files: await fixtureDrivers(V8) },
      ]),
      '--unsigned',
    );
    expect(bad.code, bad.err).toBe(0);
    // Then a prune that goes too far: 7.0.0 leaves the index; its drivers are held by the history.
    const prune = await pkgpub([
      'drivers',
      'prune',
      '--keep',
      '1',
      '--apply',
      '--to',
      repo,
      '--config',
      cfgFile,
    ]);
    expect(prune.code, prune.err).toBe(0);
    expect(JSON.parse((await text(prefix('driver/site/index.json'))).body)).toEqual([V8]);
    expect((await text(prefix(`driver/site/${V7}.json`))).status).toBe(404);
    const heldDriver = JSON.parse(docA.body).drivers[0] as Entry;
    expect((await fetch(heldDriver.download)).status).toBe(200);
    // Copies of the two replaced 7.0.0 jsons, kept by content; never in a listing.
    const kept = await readdir(join(repo, '.pkgpub-history', 'drivers'));
    expect(kept).toHaveLength(2);
    expect((await text(prefix('listing.json'))).body).not.toContain('.pkgpub');

    // history: newest first, text and JSON.
    const hist = await pkgpubProcess(['drivers', 'history', '--to', repo]);
    expect(hist.code, hist.err).toBe(0);
    expect(hist.out).toMatch(
      /^the driver tree in .*: 3 generation\(s\), newest first \(drivers rollback --steps N/m,
    );
    const rows = hist.out.split('\n').filter((l) => /^(current|steps \d)\t/.test(l));
    expect(rows.map((l) => l.split('\t')[3])).toEqual(['drivers prune', 'publish', 'publish']);
    expect(rows[0]).toMatch(/drivers \+0 -40/);
    expect(rows[1]).toMatch(/drivers \+60 -0/);
    expect(rows[2]).toMatch(/drivers \+20 -0/);
    const histJson = JSON.parse((await pkgpub(['drivers', 'history', '--to', repo, '--json'])).out);
    expect(histJson.channel).toBe('drivers');
    expect(histJson.generations.map((g: { steps: number; id: number }) => [g.steps, g.id])).toEqual([
      [0, 3],
      [1, 2],
      [2, 1],
    ]);
    // The channels' histories are untouched by drivers.
    expect(existsSync(join(repo, '.pkgpub-history', 'stable.json'))).toBe(false);

    // A dry run plans the restore and writes nothing.
    const before = await tree(repo);
    const dry = await cli('drivers', 'rollback', '--steps', '2', '--dry-run');
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/^dry run: the driver tree: generation 1 /m);
    expect(dry.out).toMatch(/^PUT {4}driver\/site\/index\.json/m);
    expect(dry.out).toMatch(/^PUT {4}\.pkgpub-history\/drivers\.json/m);
    expect(await tree(repo)).toEqual(before);
    // Too far back, or a channel given: usage errors, nothing written.
    const far = await run('drivers', 'rollback', '--steps', '3');
    expect(far.code).toBe(2);
    expect(far.err).toMatch(/the driver tree keeps 2 earlier generations; --steps 3 goes further back/);
    expect((await run('drivers', 'rollback', '--channel', 'dev')).code).toBe(2);
    expect(await tree(repo)).toEqual(before);

    // Back two steps, to version A.
    const back = await cli('drivers', 'rollback', '--steps', '2', '--json');
    expect(back.code, back.err).toBe(0);
    const report = JSON.parse(back.out);
    expect(report).toMatchObject({ channel: 'drivers', from: { id: 3 }, to: { id: 1, command: 'publish' } });
    expect(report.changes.drivers.added).toHaveLength(half);
    expect(report.changes.drivers.removed).toHaveLength(40);
    expect(report.plan.deletes).toEqual([`driver/site/${V8}.json`]);

    // What a loader reads now is the earlier state, byte for byte.
    const indexNow = await text(prefix('driver/site/index.json'));
    expect(indexNow.body).toBe(indexA.body);
    const docNow = await text(prefix(`driver/site/${V7}.json`));
    expect(docNow.status).toBe(200);
    expect(docNow.body).toBe(docA.body);
    expect(await downloadsAll(JSON.parse(docNow.body))).toBe(half);
    expect((await text(prefix(`driver/site/${V8}.json`))).status).toBe(404);
    // The driver browser lists the restored versions only.
    const page = (await text(prefix('driver/site/'))).body;
    expect(page).toContain('7.0.0%2Bdriver.json');
    expect(page).not.toContain('8.0.0');

    const after = JSON.parse((await pkgpub(['drivers', 'history', '--to', repo, '--json'])).out);
    expect(after.generations[0]).toMatchObject({ id: 4, command: 'drivers rollback', restored: 1 });
    expect(after.generations.filter((g: { corrected?: string[] }) => g.corrected)).toEqual([]);

    // One step back from the rollback is the state before it: the prune's.
    const redo = await cli('drivers', 'rollback');
    expect(redo.code, redo.err).toBe(0);
    expect(JSON.parse((await text(prefix('driver/site/index.json'))).body)).toEqual([V8]);
    const doc8 = JSON.parse((await text(prefix(`driver/site/${V8}.json`))).body);
    expect(await downloadsAll(doc8)).toBe(40);
  }, 60_000);

  it('holds what a kept generation names through prunes and publishes, and lets it go once trimmed', async () => {
    const repo = join(work, 'trees', 'trim');
    const cfgFile = join(work, 'trim.yaml');
    await writeFile(cfgFile, `base_url: ${base}/trim\nrollback:\n  generations: 1\n`);
    const cli = (...args: string[]) =>
      pkgpub([...args, '--to', repo, '--config', cfgFile, '--gc-grace', '0']);
    const some7 = (await fixtureDrivers(V7)).slice(0, 4);
    const some8 = (await fixtureDrivers(V8)).slice(0, 4);
    const first = await cli(
      'publish',
      await inputs('t1', [
        { version: V7, files: some7 },
        { version: V8, files: some8 },
      ]),
      '--unsigned',
    );
    expect(first.code, first.err).toBe(0);
    const pruned = await pkgpub([
      'drivers',
      'prune',
      '--keep',
      '1',
      '--apply',
      '--to',
      repo,
      '--config',
      cfgFile,
    ]);
    expect(pruned.code, pruned.err).toBe(0);
    const driver7 = join(repo, 'driver', V7, some7[0]![0], some7[0]![1]);
    // The generation before the prune is kept: its drivers stay.
    expect(existsSync(driver7)).toBe(true);
    expect(await readdir(join(repo, '.pkgpub-history', 'drivers'))).toHaveLength(1);

    // A new version: the prune's generation becomes the oldest kept, so what only the first named goes.
    const third = await cli(
      'publish',
      await inputs('t3', [{ version: V8, as: '9.0.0+driver', files: some8 }]),
      '--unsigned',
      '--json',
    );
    expect(third.code, third.err).toBe(0);
    const deletes: string[] = JSON.parse(third.out).plan.deletes;
    expect(deletes).toEqual(expect.arrayContaining([`driver/${V7}/${some7[0]![0]}/${some7[0]![1]}`]));
    expect(existsSync(driver7)).toBe(false);
    expect(await filesUnder(join(repo, '.pkgpub-history', 'drivers'))).toEqual([]);
    // The emptied version folder lost its listing pages too.
    expect(await filesUnder(join(repo, 'driver', V7))).toEqual([]);
    const far = await cli('drivers', 'rollback', '--steps', '2');
    expect(far.code).toBe(2);
    expect(far.err).toMatch(/keeps 1 earlier generation;/);
  }, 60_000);
});
