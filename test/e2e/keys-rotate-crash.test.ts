import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRpmHeaders } from '../../src/artifacts/read-rpm.js';
import { publish } from '../../src/changes/publish.js';
import { rotate } from '../../src/changes/rotate.js';
import { type ResolvedConfig, resolveConfig } from '../../src/config/resolve.js';
import { signatureIssuers } from '../../src/signing/issuers.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import {
  aptReadsFingerprint,
  ClientVerdicts,
  dnfReadsFingerprint,
  sameSignatures,
} from '../support/client-verdicts.js';
import { CrashPoints } from '../support/crash-points.js';
import { dnfNevras, makeDnfRoot } from '../support/dnf.js';
import { CrashAfterStore } from '../support/failing-store.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { samplesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';

// `keys rotate switch` killed after each single write in turn: apt (with the old key or the new
// one) and dnf (with both, as the add phase's .repo lists them) still read the tree, and the next
// switch completes it: every rpm, every .asc, repomd.xml.asc and SHA256SUMS.asc by the new key.

let work: string;
let base: string;
/** Published with the old key, before `add`. */
let unrotated: string;
/** After `add` and `switch`, before `retire`. */
let switched: string;
let oldKey: TestKey;
let newKey: TestKey;
let oldSigner: Signer;
let newSigner: Signer;
let cfgs: ResolvedConfig[];
/** One time for every run, so equal states are equal in every byte. */
let now: Date;
const NEVRAS = ['a-0:1.0-1.noarch', 'b-0:2.0-1.x86_64', 'falco-0:0.39.0-1.x86_64'];

const points = new CrashPoints(10);
const apt = new ClientVerdicts<{ problems: string[]; falco: string[] }>();
const dnf = new ClientVerdicts<{ code: number; out: string; nevras: string[] }>();
/** Crash points that fell between the new repomd.xml.asc and the new repomd.xml. */
const gaps: number[] = [];
const repomdAsc = 'packages/rpm/repodata/repomd.xml.asc';

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'keys-rotate-crash-'));
  [oldKey, newKey] = await Promise.all([makeTestKey(), makeTestKey()]);
  now = new Date();
  oldSigner = sameSignatures((await loadSigner({ keyFile: oldKey.secretFile, now })).signer);
  newSigner = sameSignatures((await loadSigner({ keyFile: newKey.secretFile, now })).signer);
  cfgs = [resolveConfig({}), resolveConfig({}, { channel: 'dev' })];
  const inputs = join(work, 'in');
  await mkdir(inputs);
  await buildRpms(inputs, [
    { name: 'a', version: '1.0', arch: 'noarch' },
    { name: 'b', version: '2.0', arch: 'x86_64' },
  ]);
  for (const n of ['falco_0.39.0_amd64.deb', 'falco-0.39.0-x86_64.tar.gz', 'falco-0.39.0-1.x86_64.rpm'])
    await copyFile(join(samplesDir, n), join(inputs, n));
  base = join(work, 'base');
  await publish({ inputs: [inputs], store: new FsStore(base), cfg: cfgs[0]!, signer: oldSigner, now });
  unrotated = join(work, 'unrotated');
  await cp(base, unrotated, { recursive: true });
  await rotate({
    phase: 'add',
    store: new FsStore(base),
    cfgs,
    current: oldSigner,
    next: newSigner,
    now,
  });
  switched = join(work, 'switched');
  await cp(base, switched, { recursive: true });
  await rotate({
    phase: 'switch',
    store: new FsStore(switched),
    cfgs,
    current: oldSigner,
    next: newSigner,
    now,
  });
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  for (const k of [oldKey, newKey]) if (k) await rm(k.dir, { recursive: true, force: true });
});

const aptJudges = async (repo: string, key: TestKey) =>
  apt.judge(
    await aptReadsFingerprint(new FsStore(repo), 'packages/deb/dists/stable', [
      await readFile(key.publicFile),
    ]),
    async () => {
      const root = await makeAptRoot(
        `deb [signed-by=${key.publicFile}] file:${repo}/packages/deb stable main`,
      );
      const up = await root.apt('apt-get', ['update']);
      return { problems: aptProblems(up.out), falco: up.code === 0 ? await aptVersions(root, 'falco') : [] };
    },
  );

/** dnf with both keys, gpgcheck and repo_gpgcheck on; makecache reads metadata, not the rpms. */
const dnfJudges = async (repo: string, keys: TestKey[]) =>
  dnf.judge(
    await dnfReadsFingerprint(
      new FsStore(repo),
      'packages/rpm',
      await Promise.all(keys.map((k) => readFile(k.publicFile))),
    ),
    async () => {
      const root = await makeDnfRoot({
        repoFile: [
          '[rotating]',
          'name=rotating',
          `baseurl=file://${repo}/packages/rpm`,
          'gpgcheck=1',
          'repo_gpgcheck=1',
          `gpgkey=${keys.map((k) => `file://${k.publicFile}`).join(' ')}`,
          '',
        ].join('\n'),
      });
      const mc = await root.dnf(['makecache']);
      return { code: mc.code, out: mc.out, nevras: mc.code === 0 ? await dnfNevras(root) : [] };
    },
  );

const switchOn = (store: FsStore | CrashAfterStore) =>
  rotate({ phase: 'switch', store, cfgs, current: oldSigner, next: newSigner, now, concurrency: 1 });

async function files(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await files(dir, r)));
    else out.push(r);
  }
  return out;
}

/** Every package signature is the new key's: rpm headers, each package's .asc, repomd.xml.asc, SHA256SUMS.asc. */
async function expectSwitched(repo: string, k: number): Promise<void> {
  const all = await files(repo);
  const newFpr = newKey.fingerprint.toLowerCase();
  for (const f of all.filter((x) => x.endsWith('.rpm'))) {
    const r = await readRpmHeaders(join(repo, f));
    expect(r.signature.keyId, `${f} after crash at ${k}`).toBe(newFpr.slice(-16));
  }
  const ascs = all.filter((f) => f.endsWith('.asc') && all.includes(f.slice(0, -4)));
  for (const f of ascs)
    expect(await signatureIssuers(await readFile(join(repo, f), 'utf8')), `${f} after crash at ${k}`).toEqual(
      [newFpr],
    );
  expect(
    await signatureIssuers(await readFile(join(repo, 'packages/deb/dists/stable/InRelease'), 'utf8')),
  ).toEqual([newFpr, oldKey.fingerprint.toLowerCase()]);
  expect(JSON.parse(await readFile(join(repo, '.pkgpub-keys.json'), 'utf8')).phase).toBe('switch');
}

describe('keys rotate switch killed after each single write', () => {
  // The two ends every crash point is judged against, judged first (the verdicts are then known).
  it('before the switch (phase add): apt with either key and dnf with both read the tree', async () => {
    for (const key of [oldKey, newKey]) expect((await aptJudges(base, key)).problems).toEqual([]);
    const seen = await dnfJudges(base, [oldKey, newKey]);
    expect(seen.code, seen.out).toBe(0);
    expect(seen.nevras).toEqual(NEVRAS);
  });

  it('an uninterrupted switch: apt and dnf with the new key alone read the tree', async () => {
    const repo = join(work, 'uninterrupted');
    await cp(base, repo, { recursive: true });
    await switchOn(new FsStore(repo));
    await expectSwitched(repo, -1);
    const seen = await dnfJudges(repo, [newKey]);
    expect(seen.code, seen.out).toBe(0);
    expect(seen.nevras).toEqual(NEVRAS);
    expect((await aptJudges(repo, newKey)).problems).toEqual([]);
  });

  it.each(points.shardIds)(`crash points k ≡ %i (mod ${points.shards})`, async (shard) => {
    await points.run(shard, async (k) => {
      const repo = join(work, `crash-${k}`);
      await cp(base, repo, { recursive: true });
      const crashing = new CrashAfterStore(new FsStore(repo), k);
      const crash = await switchOn(crashing).then(
        () => crashing.refusal,
        (e: unknown) => e as Error,
      );
      if (crash) {
        expect(crash.message, `after ${k} writes`).toMatch(/injected crash/);
        for (const key of [oldKey, newKey]) {
          const seen = await aptJudges(repo, key);
          expect(seen.problems, `apt with one key after ${k} writes`).toEqual([]);
          expect(seen.falco).toEqual(['0.39.0']);
        }
        const mid = await dnfJudges(repo, [oldKey, newKey]);
        if (crashing.written.at(-1) === repomdAsc) {
          // The one gap a yum publish has too (repos/yum/sign-repomd.ts): the next run repairs it.
          gaps.push(k);
          expect(mid.out).toMatch(/repomd\.xml GPG signature verification error/);
        } else {
          expect(mid.code, `dnf after ${k} writes (${crashing.written.join(' ')}):\n${mid.out}`).toBe(0);
          expect(mid.nevras).toEqual(NEVRAS);
        }
        await switchOn(new FsStore(repo));
      }
      await expectSwitched(repo, k);
      const done = await dnfJudges(repo, [newKey]);
      expect(done.code, `dnf with the new key after crash at ${k}:\n${done.out}`).toBe(0);
      expect(done.nevras).toEqual(NEVRAS);
      expect((await aptJudges(repo, newKey)).problems).toEqual([]);
      await rm(repo, { recursive: true });
      return crash ? undefined : crashing.writes;
    });
  });

  it('the shards together crashed it after every single write, the repomd gap once', () => {
    const total = points.expectAllCovered(15);
    expect(gaps).toHaveLength(1);
    console.log(
      `rotate switch crash points: ${total}; apt judged ${apt.runs} distinct states of ${apt.asked}, dnf ${dnf.runs} of ${dnf.asked}`,
    );
    expect(dnf.runs).toBeGreaterThan(2);
  });
});

/**
 * `add` and `retire` killed after each single write in turn: the clients of the phase before still
 * read the tree (add: apt and dnf with the old key; retire: apt and dnf with the new key), and the
 * next run of the phase completes it.
 */
for (const phase of ['add', 'retire'] as const) {
  describe(`keys rotate ${phase} killed after each single write`, () => {
    const phasePoints = new CrashPoints(2);
    const from = () => (phase === 'add' ? unrotated : switched);
    const trusted = () => (phase === 'add' ? oldKey : newKey);
    const run = (store: FsStore | CrashAfterStore) =>
      rotate({ phase, store, cfgs, current: oldSigner, next: newSigner, now, concurrency: 1 });
    const readable = async (repo: string, what: string) => {
      const seen = await aptJudges(repo, trusted());
      expect(seen.problems, `apt ${what}`).toEqual([]);
      expect(seen.falco).toEqual(['0.39.0']);
      const mid = await dnfJudges(repo, [trusted()]);
      expect(mid.code, `dnf ${what}:\n${mid.out}`).toBe(0);
      expect(mid.nevras).toEqual(NEVRAS);
    };
    it.each(phasePoints.shardIds)(`crash points k ≡ %i (mod ${phasePoints.shards})`, async (shard) => {
      await phasePoints.run(shard, async (k) => {
        const repo = join(work, `${phase}-crash-${k}`);
        await cp(from(), repo, { recursive: true });
        const crashing = new CrashAfterStore(new FsStore(repo), k);
        const crash = await run(crashing).then(
          () => crashing.refusal,
          (e: unknown) => e as Error,
        );
        if (crash) {
          expect(crash.message, `after ${k} writes`).toMatch(/injected crash/);
          await readable(repo, `after ${k} writes (${crashing.written.join(' ')})`);
          await run(new FsStore(repo));
        }
        const issuers = await signatureIssuers(
          await readFile(join(repo, 'packages/deb/dists/stable/InRelease'), 'utf8'),
        );
        const [oldFpr, newFpr] = [oldKey, newKey].map((x) => x.fingerprint.toLowerCase());
        expect(issuers.sort(), `InRelease after crash at ${k}`).toEqual(
          phase === 'add' ? [oldFpr!, newFpr!].sort() : [newFpr!],
        );
        expect(JSON.parse(await readFile(join(repo, '.pkgpub-keys.json'), 'utf8')).phase).toBe(
          phase === 'add' ? 'add' : 'retired',
        );
        // The phase's own clients: after add, apt with the new key alone; after retire, still the new key.
        expect((await aptJudges(repo, newKey)).problems, `apt with the new key after crash at ${k}`).toEqual(
          [],
        );
        await rm(repo, { recursive: true });
        return crash ? undefined : crashing.writes;
      });
    });
    it('the shards together crashed it after every single write', () => {
      const total = phasePoints.expectAllCovered(2);
      console.log(`rotate ${phase} crash points: ${total}`);
    });
  });
}
