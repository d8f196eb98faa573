import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { publish } from '../../src/changes/publish.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { FsStore } from '../../src/storage/fs-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { aptReadsFingerprint, ClientVerdicts, sameSignatures } from '../support/client-verdicts.js';
import { CrashPoints } from '../support/crash-points.js';
import { CrashAfterStore } from '../support/failing-store.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { tree } from '../support/tree.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

const run = promisify(execFile);
let key: TestKey;
let work: string;
const deb = (n: string) => join(fixturesDir, 'deb', n);

async function aptSees(repo: string, keyFile: string) {
  const apt = await makeAptRoot(`deb [signed-by=${keyFile}] file:${repo}/packages/deb stable main`);
  const up = await apt.apt('apt-get', ['update']);
  return { apt, up, problems: aptProblems(up.out) };
}

/** A deb with the same name/version/arch as a fixture but other bytes. */
async function rebuiltDeb(dir: string): Promise<string> {
  const root = join(dir, 'pkg');
  await mkdir(join(root, 'DEBIAN'), { recursive: true });
  const { stdout } = await run('dpkg-deb', ['-f', deb('falco_0.39.0_amd64.deb')]);
  await writeFile(join(root, 'DEBIAN', 'control'), stdout);
  await mkdir(join(root, 'opt'), { recursive: true });
  await writeFile(join(root, 'opt', 'different'), 'other bytes\n');
  const out = join(dir, 'falco_0.39.0_amd64.deb');
  await run('dpkg-deb', ['--root-owner-group', '-b', root, out]);
  return out;
}

beforeAll(async () => {
  key = await makeTestKey();
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'apt-inc-'));
});

/** A pkgpub.yaml with `rollback.generations: 0`: no earlier generation holds garbage back. */
async function noHistoryConfig(): Promise<string> {
  const dir = await mkdtemp(join(work, 'nohist-'));
  await writeFile(join(dir, 'pkgpub.yaml'), 'rollback:\n  generations: 0\n');
  return join(dir, 'pkgpub.yaml');
}

const pub = (repo: string, ...args: string[]) =>
  pkgpub(['publish', '--to', repo, '--signing-key', key.secretFile, ...args]);

describe('incremental and safe apt publishing', () => {
  it('adds to what is published, changes nothing on a republish, and refuses other bytes unless --force', async () => {
    const repo = join(work, 'inc');
    expect((await pub(repo, deb('falco_0.38.1_amd64.deb'))).code).toBe(0);
    const second = await pub(repo, deb('falco_0.39.0_amd64.deb'), deb('docs-all_3.1-2_all.deb'), '--json');
    expect(second.code, second.err).toBe(0);
    const summary = JSON.parse(second.out);
    expect(summary.changes.apt.added).toEqual(['falco 0.39.0 amd64', 'docs-all 3.1-2 all']);
    const packages = await readFile(
      join(repo, 'packages/deb/dists/stable/main/binary-amd64/Packages'),
      'utf8',
    );
    expect(packages.match(/^Package: /gm)).toHaveLength(3);
    expect(
      await readFile(join(repo, 'packages/deb/dists/stable/main/binary-arm64/Packages'), 'utf8'),
    ).toContain('Package: docs-all');

    const before = await tree(repo);
    const again = await pub(repo, deb('falco_0.39.0_amd64.deb'), '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).plan.puts).toEqual([]);
    expect(await tree(repo)).toEqual(before);

    const other = await rebuiltDeb(await mkdtemp(join(work, 'rebuilt-')));
    const refused = await pub(repo, other);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/falco 0\.39\.0 amd64 is already published with other bytes.*--force/);
    expect(await tree(repo)).toEqual(before);
    const forced = await pub(repo, other, '--force');
    expect(forced.code, forced.err).toBe(0);
    const { apt, problems } = await aptSees(repo, join(repo, 'keys/falco-packages.asc'));
    expect(problems).toEqual([]);
    const dl = await apt.apt('apt-get', ['download', 'falco=0.39.0']);
    expect(dl.code, dl.out).toBe(0);
    expect(await readFile(join(apt.dir, 'dl', 'falco_0.39.0_amd64.deb'))).toEqual(await readFile(other));
  });

  it('never reads back published debs: a later publish touches only index files and the new blobs', async () => {
    const repo = join(work, 'noreread');
    expect((await pub(repo, deb('falco_0.38.1_amd64.deb'), deb('falco_0.38.2_amd64.deb'))).code).toBe(0);
    const reads: string[] = [];
    const inner = new FsStore(repo);
    const spy: ObjectStore = Object.assign(Object.create(inner) as FsStore, {
      get: (k: string) => {
        reads.push(k);
        return inner.get(k);
      },
      getStream: (k: string) => {
        reads.push(k);
        return inner.getStream(k);
      },
    });
    const cfg = resolveConfig({});
    const { signer } = await loadSigner({ keyFile: key.secretFile });
    const res = await publish({ inputs: [deb('falco_0.39.0_amd64.deb')], store: spy, cfg, signer });
    expect(res.changes.apt.added).toEqual(['falco 0.39.0 amd64']);
    expect(reads.filter((k) => k.endsWith('.deb'))).toEqual([]);
    // The spy does see the publish's reads: the published index it adds to.
    expect(reads.some((k) => k.startsWith('packages/deb/dists/stable/'))).toBe(true);
  });

  it('remove drops a package from the index; dry-run prints the plan and writes nothing', async () => {
    const repo = join(work, 'remove');
    expect((await pub(repo, deb('falco_0.38.1_amd64.deb'), deb('falco_0.39.0_amd64.deb'))).code).toBe(0);
    const before = await tree(repo);
    // Without history (rollback.generations 0) a removal's garbage goes straight to the scheduler.
    const noHistory = await noHistoryConfig();
    const removeArgs = [
      'remove',
      'falco=0.38.1',
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
      '--config',
      noHistory,
    ];
    const dry = await pkgpub([...removeArgs, '--dry-run', '--gc-grace', '0']);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/^PUT {4}packages\/deb\/dists\/stable\/InRelease/m);
    expect(dry.out).toMatch(/^DELETE packages\/deb\/stable\/falco_0\.38\.1_amd64\.deb$/m);
    // With the default grace period the deb stays until a later publish, well after its removal.
    const dryGrace = await pkgpub([...removeArgs, '--dry-run']);
    expect(dryGrace.out).not.toMatch(/^DELETE /m);
    expect(dryGrace.out).toMatch(/^PUT {4}\.pkgpub-garbage\.json/m);
    expect(await tree(repo)).toEqual(before);
    const rm1 = await pkgpub(removeArgs);
    expect(rm1.code, rm1.err).toBe(0);
    const { apt, problems } = await aptSees(repo, join(repo, 'keys/falco-packages.asc'));
    expect(problems).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.39.0']);
    const removedDeb = join(repo, 'packages/deb/stable/falco_0.38.1_amd64.deb');
    expect((await stat(removedDeb)).isFile()).toBe(true);
    // A publish within the grace period keeps it; one after the grace period deletes it.
    const cfg = resolveConfig({ rollback: { generations: 0 } });
    const { signer } = await loadSigner({ keyFile: key.secretFile });
    const later = (minutes: number) => new Date(Date.now() + minutes * 60_000);
    const soon = await publish({
      inputs: [deb('epochpkg_2.0-1_amd64.deb')],
      store: new FsStore(repo),
      cfg,
      signer,
      gcGraceMs: 3_600_000,
      now: later(10),
    });
    expect(soon.plan.deletes).toEqual([]);
    const after = await publish({
      inputs: [deb('docs-all_3.1-2_all.deb')],
      store: new FsStore(repo),
      cfg,
      signer,
      gcGraceMs: 3_600_000,
      now: later(90),
    });
    expect(after.plan.deletes).toContain('packages/deb/stable/falco_0.38.1_amd64.deb');
    await expect(stat(removedDeb)).rejects.toThrow();
  });

  describe('a publish killed after each single write leaves a repo apt reads, and the next publish completes it', () => {
    const points = new CrashPoints(12);
    const cfg = resolveConfig({});
    const inputs = [deb('falco_0.39.0_amd64.deb'), deb('docs-all_3.1-2_all.deb')];
    /** apt judges each distinct dists/ tree once (client-verdicts.ts). */
    const verdicts = new ClientVerdicts<{ problems: string[]; falco: string[] }>();
    let base: string;
    let keyFile: string;
    let signer: Signer;
    /** One time for every crashed and completing publish, so equal states are equal in every byte. */
    let now: Date;
    beforeAll(async () => {
      base = join(work, 'crash-base');
      expect((await pub(base, deb('falco_0.38.1_amd64.deb'), deb('falco_0.39.0_arm64.deb'))).code).toBe(0);
      keyFile = join(base, 'keys/falco-packages.asc');
      now = new Date();
      signer = sameSignatures((await loadSigner({ keyFile: key.secretFile, now })).signer);
    });
    const aptJudges = async (repo: string) =>
      verdicts.judge(
        await aptReadsFingerprint(new FsStore(repo), 'packages/deb/dists/stable', [await readFile(keyFile)]),
        async () => {
          const seen = await aptSees(repo, keyFile);
          return { problems: seen.problems, falco: await aptVersions(seen.apt, 'falco') };
        },
      );

    it.each(points.shardIds)(`crash points k ≡ %i (mod ${points.shards})`, async (shard) => {
      await points.run(shard, async (k) => {
        const repo = join(work, `crash-${k}`);
        await cp(base, repo, { recursive: true });
        const crashing = new CrashAfterStore(new FsStore(repo), k);
        const crash = await publish({ inputs, store: crashing, cfg, signer, now, concurrency: 1 }).then(
          // A run whose writes all landed but the lease's release counts as crashed there too.
          () => crashing.refusal,
          (e: unknown) => e as Error,
        );
        if (crash) {
          expect(crash.message, `after ${k} writes`).toMatch(/injected crash/);
          const mid = await aptJudges(repo);
          expect(mid.problems, `after ${k} writes`).toEqual([]);
          expect(mid.falco, `after ${k} writes`).toContain('0.38.1');
          await publish({ inputs, store: new FsStore(repo), cfg, signer, now });
        }
        const done = await aptJudges(repo);
        expect(done.problems).toEqual([]);
        expect(done.falco, `completed after crash at ${k}`).toEqual(['0.39.0', '0.38.1']);
        await rm(repo, { recursive: true });
        return crash ? undefined : crashing.writes;
      });
    });

    it('the shards together crashed it after every single write', () => {
      const total = points.expectAllCovered(20);
      console.log(
        `apt crash points: ${total}; apt judged ${verdicts.runs} distinct states of ${verdicts.asked}`,
      );
      // Some point must have changed what apt reads, or the crashes never reached the indexes.
      expect(verdicts.runs).toBeGreaterThan(2);
    });
  });

  it('keeps the last N by-hash generations so an older InRelease still finds its indexes', async () => {
    const repo = join(work, 'gens');
    const names = [
      'falco_0.38.1_amd64.deb',
      'falco_0.38.2_amd64.deb',
      'falco_0.39.0_amd64.deb',
      'epochpkg_2.0-1_amd64.deb',
    ];
    const inReleases: string[] = [];
    // Without history: the channel history would keep every by-hash file its generations name.
    const noHistory = await noHistoryConfig();
    for (const n of names) {
      expect((await pub(repo, deb(n), '--gc-grace', '0', '--config', noHistory)).code).toBe(0);
      inReleases.push(await readFile(join(repo, 'packages/deb/dists/stable/Release'), 'utf8'));
    }
    const byHash = join(repo, 'packages/deb/dists/stable/main/binary-amd64/by-hash/SHA256');
    const present = new Set(await readdir(byHash));
    const hashesIn = (rel: string) =>
      [
        ...rel
          .split('SHA256:')[1]!
          .split('SHA512:')[0]!
          .matchAll(/^ ([0-9a-f]{64}) +\d+ main\/binary-amd64\//gm),
      ].map((m) => m[1]!);
    // Default 3 generations: the last three Releases resolve fully, the first no longer does.
    for (const rel of inReleases.slice(1)) for (const h of hashesIn(rel)) expect(present.has(h)).toBe(true);
    expect(hashesIn(inReleases[0]!).some((h) => !present.has(h))).toBe(true);
  });
});

describe('keys, secrets and usage', () => {
  it('refuses without a key unless --unsigned, and an unsigned repo works with trusted=yes', async () => {
    const repo = join(work, 'unsigned');
    const none = await pkgpub(['publish', deb('falco_0.39.0_amd64.deb'), '--to', repo], {
      PKGPUB_SIGNING_KEY: undefined,
    });
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no signing key.*--unsigned/);
    const res = await pkgpub(['publish', deb('falco_0.39.0_amd64.deb'), '--to', repo, '--unsigned'], {
      PKGPUB_SIGNING_KEY: undefined,
    });
    expect(res.code, res.err).toBe(0);
    const apt = await makeAptRoot(`deb [trusted=yes] file:${repo}/packages/deb stable main`);
    const up = await apt.apt('apt-get', ['update']);
    expect(up.code, up.out).toBe(0);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.39.0']);
  });

  it('takes the key and passphrase from the environment and never shows them', async () => {
    const passphrase = 'correct horse battery staple 42';
    const k = await makeTestKey(passphrase);
    const repo = join(work, 'secret');
    const env = { PKGPUB_SIGNING_KEY: k.privateArmored, PKGPUB_SIGNING_PASSPHRASE: passphrase };
    const ok = await pkgpub(['publish', deb('falco_0.39.0_amd64.deb'), '--to', repo], env);
    expect(ok.code, ok.err).toBe(0);
    const wrong = await pkgpub(['publish', deb('falco_0.39.0_amd64.deb'), '--to', join(work, 'secret2')], {
      ...env,
      PKGPUB_SIGNING_PASSPHRASE: 'not it',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.err.trim().split('\n')).toHaveLength(1);
    expect(wrong.err).toMatch(/wrong passphrase/);
    const secretLines = k.privateArmored.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    const published = [...(await tree(repo)).keys()];
    const texts = [ok.out, ok.err, wrong.out, wrong.err];
    for (const f of published) texts.push((await readFile(join(repo, f))).toString('latin1'));
    for (const t of texts) {
      expect(t).not.toContain(passphrase);
      for (const l of secretLines) expect(t).not.toContain(l);
    }
    expect(published.some((f) => f.includes('secret'))).toBe(false);
  });

  it('reports every config problem at once with line numbers, exit 2', async () => {
    const dir = await mkdtemp(join(work, 'cfg-'));
    const cfg = join(dir, 'pkgpub.yaml');
    await writeFile(
      cfg,
      'origin: Falco\napt:\n  suite: stable\n  architectures: amd64\n  by_hash_generations: three\ncolour: blue\n',
    );
    const res = await pkgpub([
      'publish',
      deb('falco_0.39.0_amd64.deb'),
      '--to',
      join(dir, 'out'),
      '--config',
      cfg,
      '--unsigned',
    ]);
    expect(res.code).toBe(2);
    expect(res.err).toMatch(/pkgpub\.yaml:4: "apt\.architectures" must be a list of strings/);
    expect(res.err).toMatch(/pkgpub\.yaml:5: "apt\.by_hash_generations" must be a number/);
    expect(res.err).toMatch(/pkgpub\.yaml:6: unknown setting "colour"/);
  });

  it('publishes the dev channel under the -dev prefixes with origin and label from the config', async () => {
    const dir = await mkdtemp(join(work, 'dev-'));
    const cfg = join(dir, 'pkgpub.yaml');
    await writeFile(cfg, 'origin: Falcosecurity\nlabel: Falco dev\napt:\n  valid_until_days: 30\n');
    const repo = join(dir, 'out');
    const res = await pub(repo, deb('falco_0.39.0_amd64.deb'), '--channel', 'dev', '--config', cfg);
    expect(res.code, res.err).toBe(0);
    const release = await readFile(join(repo, 'packages/deb-dev/dists/stable/Release'), 'utf8');
    expect(release).toMatch(/^Origin: Falcosecurity$/m);
    expect(release).toMatch(/^Label: Falco dev$/m);
    expect(release).toMatch(/^Valid-Until: /m);
    expect(await readFile(join(repo, 'packages/deb-dev/falco.sources'), 'utf8')).toMatch(
      /URIs: .*\/packages\/deb-dev/,
    );
    const apt = await makeAptRoot(
      `deb [signed-by=${join(repo, 'keys/falco-packages.asc')}] file:${repo}/packages/deb-dev stable main`,
    );
    expect(aptProblems((await apt.apt('apt-get', ['update'])).out)).toEqual([]);
  });
});
