import { cp, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../../src/changes/publish.js';
import { rollback } from '../../src/changes/rollback.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { historyKey, parseHistory } from '../../src/model/history.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { dnfNevras, makeDnfRoot } from '../support/dnf.js';
import { CrashAfterStore } from '../support/failing-store.js';
import { type GpgHome, gpgv, keyringFor, makeGpgHome } from '../support/gpg.js';
import { historyCommands, raceWithPublish, succeeded } from '../support/channel-race.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { tree } from '../support/tree.js';

let key: TestKey;
let signer: Signer;
let work: string;
let gpgHome: GpgHome;
const rpm: Record<string, string> = {};
const deb = (n: string) => join(fixturesDir, 'deb', n);
const tarball = (n: string) => join(fixturesDir, 'bin', n);

beforeAll(async () => {
  key = await makeTestKey();
  ({ signer } = await loadSigner({ keyFile: key.secretFile }));
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'rollback-'));
  gpgHome = makeGpgHome();
  const built = await buildRpms(join(work, 'built'), [
    { name: 'tool', version: '1.0', arch: 'x86_64' },
    { name: 'tool', version: '1.1', arch: 'x86_64' },
    { name: 'extra', version: '0.1', arch: 'noarch' },
  ]);
  for (const f of built)
    rpm[
      f
        .split('/')
        .pop()!
        .replace(/\.rpm$/, '')
    ] = f;
});
afterAll(() => gpgHome?.cleanup());

const cli = (repo: string, cmd: string, ...args: string[]) =>
  pkgpub([cmd, ...args, '--to', repo, '--signing-key', key.secretFile, '--gc-grace', '0']);

describe('history and rollback of a channel, judged by real apt and dnf', () => {
  it('puts an earlier generation back as a new signed one that the same clients take, and keeps every blob it names', async () => {
    const repo = join(work, 'main');
    const good = await cli(
      repo,
      'publish',
      deb('falco_0.38.1_amd64.deb'),
      deb('docs-all_3.1-2_all.deb'),
      rpm['tool-1.0-1.x86_64']!,
      rpm['extra-0.1-1.noarch']!,
      tarball('falco-0.39.0-x86_64.tar.gz'),
    );
    expect(good.code, good.err).toBe(0);
    const goodSums = await readFile(join(repo, 'packages/bin/x86_64/SHA256SUMS'), 'utf8');
    const bad = await cli(
      repo,
      'publish',
      deb('falco_0.39.0_amd64.deb'),
      rpm['tool-1.1-1.x86_64']!,
      tarball('falco-0.40.0-rc1-static-x86_64.tar.gz'),
    );
    expect(bad.code, bad.err).toBe(0);
    const removed = await cli(repo, 'remove', 'docs-all', 'extra');
    expect(removed.code, removed.err).toBe(0);
    // Held back by the history, even with --gc-grace 0.
    const docsDeb = join(repo, 'packages/deb/stable/docs-all_3.1-2_all.deb');
    const extraRpm = join(repo, 'packages/rpm/extra-0.1-1.noarch.rpm');
    const docsBytes = await readFile(docsDeb);
    expect((await stat(`${docsDeb}.asc`)).isFile()).toBe(true);
    expect((await stat(extraRpm)).isFile()).toBe(true);

    // Clients read the bad generation.
    const keyFile = join(repo, 'keys/falco-packages.asc');
    const apt = await makeAptRoot(`deb [signed-by=${keyFile}] file:${repo}/packages/deb stable main`);
    const up1 = await apt.apt('apt-get', ['update']);
    expect(aptProblems(up1.out), up1.out).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.39.0', '0.38.1']);
    expect(await aptVersions(apt, 'docs-all')).toEqual([]);
    const dnf = await makeDnfRoot({ baseurl: `file://${repo}/packages/rpm`, gpgkey: keyFile });
    const mc1 = await dnf.dnf(['makecache']);
    expect(mc1.code, mc1.out).toBe(0);
    expect(await dnfNevras(dnf)).toEqual(['tool-0:1.0-1.x86_64', 'tool-0:1.1-1.x86_64']);

    // history: three generations, newest first, in text and JSON.
    const hist = await pkgpub(['history', '--channel', 'stable', '--to', repo]);
    expect(hist.code, hist.err).toBe(0);
    const rows = hist.out.split('\n').filter((l) => /^(current|steps \d)\t/.test(l));
    expect(rows.map((l) => l.split('\t')[3])).toEqual(['remove', 'publish', 'publish']);
    expect(rows[0]).toMatch(/apt \+0 -1, yum \+0 -1/);
    expect(rows[1]).toMatch(/apt \+1 -0, yum \+1 -0, tarballs \+1 -0/);
    const histJson = JSON.parse(
      (await pkgpub(['history', '--channel', 'stable', '--to', repo, '--json'])).out,
    );
    expect(histJson.generations.map((g: { steps: number; command: string }) => [g.steps, g.command])).toEqual(
      [
        [0, 'remove'],
        [1, 'publish'],
        [2, 'publish'],
      ],
    );
    expect(histJson.generations[0].summary.apt.removed).toEqual(['docs-all 3.1-2 all']);

    // A dry run plans the new generation and writes nothing.
    const before = await tree(repo);
    const dry = await cli(repo, 'rollback', '--channel', 'stable', '--steps', '2', '--dry-run');
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/^PUT {4}packages\/deb\/dists\/stable\/InRelease/m);
    expect(dry.out).toMatch(/^PUT {4}\.pkgpub-history\/stable\.json/m);
    expect(dry.out).not.toMatch(/^DELETE /m);
    expect(await tree(repo)).toEqual(before);

    // Further back than the record keeps: a clear error, nothing written.
    const tooFar = await cli(repo, 'rollback', '--channel', 'stable', '--steps', '3');
    expect(tooFar.code).toBe(2);
    expect(tooFar.err).toMatch(/keeps 2 earlier generations; --steps 3 goes further back/);
    expect(await tree(repo)).toEqual(before);

    // Back to the good publish: two steps.
    const back = await cli(repo, 'rollback', '--channel', 'stable', '--steps', '2', '--json');
    expect(back.code, back.err).toBe(0);
    const report = JSON.parse(back.out);
    expect(report.to.id).toBe(1);
    expect(report.changes.apt).toMatchObject({
      added: ['docs-all 3.1-2 all'],
      removed: ['falco 0.39.0 amd64'],
    });
    expect(report.changes.yum).toMatchObject({
      added: ['extra 0.1-1 noarch'],
      removed: ['tool 1.1-1 x86_64'],
    });
    expect(report.changes.bin).toMatchObject({
      added: [],
      removed: ['x86_64/falco-0.40.0-rc1-static-x86_64.tar.gz'],
    });
    expect(report.plan.deletes).toEqual([]);

    // The SAME clients update without an error and get what the good generation held.
    const up2 = await apt.apt('apt-get', ['update']);
    expect(up2.code, up2.out).toBe(0);
    expect(aptProblems(up2.out), up2.out).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.38.1']);
    const dl = await apt.apt('apt-get', ['download', 'falco', 'docs-all']);
    expect(dl.code, dl.out).toBe(0);
    expect(await readFile(join(apt.dir, 'dl', 'falco_0.38.1_amd64.deb'))).toEqual(
      await readFile(deb('falco_0.38.1_amd64.deb')),
    );
    // The removed-then-restored deb was never deleted in between: apt fetches it with matching hashes.
    expect(await readFile(join(apt.dir, 'dl', 'docs-all_3.1-2_all.deb'))).toEqual(docsBytes);
    const mc2 = await dnf.dnf(['makecache']);
    expect(mc2.code, mc2.out).toBe(0);
    expect(await dnfNevras(dnf)).toEqual(['extra-0:0.1-1.noarch', 'tool-0:1.0-1.x86_64']);
    const inst = await dnf.dnf(['install', 'tool', 'extra']);
    expect(inst.code, inst.out).toBe(0);
    expect(await readFile(join(dnf.dir, 'root/opt/tool/payload'), 'utf8')).toBe('tool 1.0\n');

    // The tarballs' SHA256SUMS is the good one again, and its new signature verifies.
    const sums = join(repo, 'packages/bin/x86_64/SHA256SUMS');
    expect(await readFile(sums, 'utf8')).toBe(goodSums);
    const ring = keyringFor(gpgHome, key.publicArmored);
    const v = gpgv(gpgHome, ring, `${sums}.asc`, sums);
    expect(v.status, v.stderr).toBe(0);

    // What the bad generations named waits in the history (they can be put back too).
    expect((await stat(join(repo, 'packages/deb/stable/falco_0.39.0_amd64.deb'))).isFile()).toBe(true);
    expect(
      (await stat(join(repo, 'packages/bin/x86_64/falco-0.40.0-rc1-static-x86_64.tar.gz'))).isFile(),
    ).toBe(true);
    const after = JSON.parse((await pkgpub(['history', '--to', repo, '--json'])).out);
    expect(after.generations[0]).toMatchObject({ command: 'rollback', restored: 1 });
    expect(after.generations).toHaveLength(4);
    // The repodata folder's listing page is the listing tier's, never garbage held or deleted.
    expect((await stat(join(repo, 'packages/rpm/repodata/index.html'))).isFile()).toBe(true);
    const held = parseHistory(await readFile(join(repo, historyKey('stable'))), 'stable');
    if (!held.ok) throw new Error(held.reason);
    expect(
      held.record.entries
        .flatMap((e) => Object.values(e.dropped).flat())
        .filter((k) => /(index|listing)[^/]*$/.test(k)),
    ).toEqual([]);
    // Every generation was committed as recorded: what each run read matched the record.
    expect(after.generations.filter((g: { corrected?: string[] }) => g.corrected)).toEqual([]);

    // One step back from the rollback is the state before it: the bad one returns, on the same clients.
    const redo = await cli(repo, 'rollback', '--channel', 'stable');
    expect(redo.code, redo.err).toBe(0);
    const up3 = await apt.apt('apt-get', ['update']);
    expect(aptProblems(up3.out), up3.out).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.39.0', '0.38.1']);
    const mc3 = await dnf.dnf(['makecache']);
    expect(mc3.code, mc3.out).toBe(0);
    expect(await dnfNevras(dnf)).toEqual(['tool-0:1.0-1.x86_64', 'tool-0:1.1-1.x86_64']);
  }, 120_000);

  it('releases what only dropped generations named once they fall out of the history', async () => {
    const repo = join(work, 'trim');
    const dir = await mkdtemp(join(work, 'cfg-'));
    const cfgFile = join(dir, 'pkgpub.yaml');
    await writeFile(cfgFile, 'rollback:\n  generations: 1\n');
    const run = (cmd: string, ...args: string[]) => cli(repo, cmd, ...args, '--config', cfgFile);
    expect((await run('publish', deb('falco_0.38.1_amd64.deb'), deb('docs-all_3.1-2_all.deb'))).code).toBe(0);
    expect((await run('remove', 'docs-all')).code).toBe(0);
    const docsDeb = join(repo, 'packages/deb/stable/docs-all_3.1-2_all.deb');
    // The generation before the remove is still kept: its deb stays.
    expect((await stat(docsDeb)).isFile()).toBe(true);
    const third = await run('publish', deb('falco_0.39.0_amd64.deb'), '--json');
    expect(third.code, third.err).toBe(0);
    expect(JSON.parse(third.out).plan.deletes).toEqual(
      expect.arrayContaining([
        'packages/deb/stable/docs-all_3.1-2_all.deb',
        'packages/deb/stable/docs-all_3.1-2_all.deb.asc',
      ]),
    );
    await expect(stat(docsDeb)).rejects.toThrow();
    const record = parseHistory(await readFile(join(repo, historyKey('stable'))), 'stable');
    expect(record.ok && record.record.entries.map((e) => e.command)).toEqual(['remove', 'publish']);
    // Listings never show the history.
    const rootListing = await readFile(join(repo, 'listing.json'), 'utf8');
    expect(rootListing).not.toContain('.pkgpub');
  }, 60_000);

  it('a damaged history stops history and rollback with a clear error; the next publish sets it aside and starts anew', async () => {
    const repo = join(work, 'damaged');
    expect((await cli(repo, 'publish', deb('falco_0.38.1_amd64.deb'))).code).toBe(0);
    expect((await cli(repo, 'publish', deb('falco_0.39.0_amd64.deb'))).code).toBe(0);
    const recordFile = join(repo, historyKey('stable'));
    await writeFile(recordFile, '{"entries": [ {"id": 1, "date": "yesterday"');
    const hist = await pkgpub(['history', '--to', repo]);
    expect(hist.code).toBe(1);
    expect(hist.err).toMatch(/history record \.pkgpub-history\/stable\.json .* is damaged \(not JSON/);
    const rb = await cli(repo, 'rollback');
    expect(rb.code).toBe(1);
    expect(rb.err).toMatch(/is damaged/);
    const pub = await cli(repo, 'publish', deb('docs-all_3.1-2_all.deb'));
    expect(pub.code, pub.err).toBe(0);
    expect(pub.err).toMatch(/history record .* is damaged .* kept as \.pkgpub-history\/stable\.damaged-/);
    const aside = (await readdir(join(repo, '.pkgpub-history'))).filter((f) => f.includes('.damaged-'));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(repo, '.pkgpub-history', aside[0]!), 'utf8')).toBe(
      '{"entries": [ {"id": 1, "date": "yesterday"',
    );
    // The new record begins with the state found (a baseline), so this publish can be rolled back.
    const json = JSON.parse((await pkgpub(['history', '--to', repo, '--json'])).out);
    expect(json.generations.map((g: { command: string }) => g.command)).toEqual(['publish', 'baseline']);
    const back = await cli(repo, 'rollback');
    expect(back.code, back.err).toBe(0);
    expect(
      await readFile(join(repo, 'packages/deb/dists/stable/main/binary-amd64/Packages'), 'utf8'),
    ).not.toContain('docs-all');
  }, 60_000);

  it('a publish that died after writing the history, before its pointers, is corrected by the next one', async () => {
    const repo = join(work, 'phantom');
    const cfg = resolveConfig({});
    const store = new FsStore(repo);
    await publish({
      inputs: [deb('falco_0.38.1_amd64.deb'), deb('docs-all_3.1-2_all.deb')],
      store,
      cfg,
      signer,
    });
    await publish({ inputs: [], removals: [{ name: 'docs-all' }], store, cfg, signer, command: 'remove' });
    const committedRelease = await readFile(join(repo, 'packages/deb/dists/stable/InRelease'), 'utf8');
    // Find the write count at which the history is written, and crash right after it.
    const probe = new CrashAfterStore(new FsStore(await copyTree(repo, join(work, 'phantom-probe'))), 10_000);
    await publish({
      inputs: [deb('falco_0.39.0_amd64.deb')],
      removals: [{ name: 'falco', version: '0.38.1' }],
      store: probe,
      cfg,
      signer,
      concurrency: 1,
    });
    const historyAt = probe.written.indexOf(historyKey('stable'));
    expect(historyAt).toBeGreaterThanOrEqual(0);
    expect(probe.written.indexOf('packages/deb/dists/stable/Release')).toBeGreaterThan(historyAt);
    const crashing = new CrashAfterStore(new FsStore(repo), historyAt + 1);
    await expect(
      publish({
        inputs: [deb('falco_0.39.0_amd64.deb')],
        removals: [{ name: 'falco', version: '0.38.1' }],
        store: crashing,
        cfg,
        signer,
        concurrency: 1,
        gcGraceMs: 0,
      }),
    ).rejects.toThrow(/injected crash/);
    expect(await readFile(join(repo, 'packages/deb/dists/stable/InRelease'), 'utf8')).toBe(committedRelease);
    const phantom = parseHistory(await readFile(join(repo, historyKey('stable'))), 'stable');
    expect(phantom.ok && phantom.record.entries).toHaveLength(3);

    // Another publish, keeping one earlier generation and deleting at once what falls out: what
    // only the first publish named goes, and nothing a committed state names does (the phantom's
    // garbage, the 0.38.1 deb it removed, is named by the committed remove state).
    const keepOne = { ...cfg, rollback: { generations: 1 } };
    const next = await publish({
      inputs: [deb('epochpkg_2.0-1_amd64.deb')],
      store,
      cfg: keepOne,
      signer,
      gcGraceMs: 0,
    });
    expect(next.plan.deletes).toEqual(
      expect.arrayContaining([
        'packages/deb/stable/docs-all_3.1-2_all.deb',
        'packages/deb/stable/docs-all_3.1-2_all.deb.asc',
      ]),
    );
    expect(next.plan.deletes.filter((k) => k.includes('falco_0.38.1'))).toEqual([]);
    const fixed = parseHistory(await readFile(join(repo, historyKey('stable'))), 'stable');
    if (!fixed.ok) throw new Error(fixed.reason);
    // The phantom generation is gone (it matched the one before it); the new one follows the remove.
    expect(fixed.record.entries.map((e) => e.command)).toEqual(['remove', 'publish']);
    expect(fixed.record.entries.at(-1)!.summary.apt!.added).toEqual(['epochpkg 1:2.0-1 amd64']);
    for (const f of ['falco_0.38.1_amd64.deb', 'falco_0.38.1_amd64.deb.asc'])
      expect((await stat(join(repo, 'packages/deb/stable', f))).isFile(), f).toBe(true);
    // And a rollback to the remove state serves 0.38.1 again, checked by apt.
    const back = await cli(repo, 'rollback');
    expect(back.code, back.err).toBe(0);
    const apt = await makeAptRoot(
      `deb [signed-by=${join(repo, 'keys/falco-packages.asc')}] file:${repo}/packages/deb stable main`,
    );
    const up = await apt.apt('apt-get', ['update']);
    expect(aptProblems(up.out), up.out).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.38.1']);
    expect(await aptVersions(apt, 'epochpkg')).toEqual([]);
    const dl = await apt.apt('apt-get', ['download', 'falco']);
    expect(dl.code, dl.out).toBe(0);
  }, 60_000);
});

async function copyTree(from: string, to: string): Promise<string> {
  await cp(from, to, { recursive: true });
  return to;
}

describe('a rollback racing a publish into the same channel', () => {
  it('on a folder the publish waits for the rollback and lands on the state it put back: nothing is lost', async () => {
    const repo = join(work, 'race');
    const cfg = resolveConfig({});
    await publish({ inputs: [deb('falco_0.38.1_amd64.deb')], store: new FsStore(repo), cfg, signer });
    await publish({ inputs: [deb('falco_0.39.0_amd64.deb')], store: new FsStore(repo), cfg, signer });
    // The rollback has read the history and both states; just before its first pointer a publish starts.
    const raced = await raceWithPublish({
      store: () => new FsStore(repo),
      pauseBefore: 'InRelease',
      command: (store, progress) => rollback({ store, cfg, signer, progress }),
      publish: (store, progress) =>
        publish({ inputs: [deb('epochpkg_2.0-1_amd64.deb')], store, cfg, signer, progress }),
    });
    expect(raced.publishWaited).toBe(true);
    const rolled = succeeded(raced.command, raced.commandSteps);
    expect(rolled.report.changes.apt?.removed).toEqual(['falco 0.39.0 amd64']);
    const published = succeeded(raced.publish, raced.publishSteps);
    expect(published.changes.apt.added).toEqual(['epochpkg 1:2.0-1 amd64']);
    const apt = await makeAptRoot(
      `deb [signed-by=${join(repo, 'keys/falco-packages.asc')}] file:${repo}/packages/deb stable main`,
    );
    const up = await apt.apt('apt-get', ['update']);
    expect(aptProblems(up.out), up.out).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.38.1']);
    expect(await aptVersions(apt, 'epochpkg')).toEqual(['1:2.0-1']);
    expect(await historyCommands(new FsStore(repo), 'stable')).toEqual([
      'publish',
      'publish',
      'rollback',
      'publish',
    ]);
  });
});
