import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/artifacts/checksums.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { publish } from '../../src/changes/publish.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { FsStore } from '../../src/storage/fs-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { pkgpub } from '../support/cli.js';
import { dnfNevras, makeDnfRoot, rpmCheckSig } from '../support/dnf.js';
import { ClientVerdicts, dnfReadsFingerprint, sameSignatures } from '../support/client-verdicts.js';
import { CrashPoints } from '../support/crash-points.js';
import { CrashAfterStore } from '../support/failing-store.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { tree } from '../support/tree.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';

const execFileAsync = promisify(execFile);

let key: TestKey;
let signer: Signer;
let work: string;
/** name -> path of small rpms built for these tests. */
const rpm: Record<string, string> = {};
const fixture = (n: string) => join(fixturesDir, 'rpm', n);

async function dnfSees(
  repo: string,
  keyFile = join(repo, 'keys/falco-packages.asc'),
  prefix = 'packages/rpm',
) {
  const dnf = await makeDnfRoot({ baseurl: `file://${repo}/${prefix}`, gpgkey: keyFile });
  const mc = await dnf.dnf(['makecache']);
  return { dnf, mc, nevras: mc.code === 0 ? await dnfNevras(dnf) : [] };
}

beforeAll(async () => {
  key = await makeTestKey();
  ({ signer } = await loadSigner({ keyFile: key.secretFile }));
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'yum-inc-'));
  const built = await buildRpms(join(work, 'built'), [
    { name: 'tool', version: '1.0', arch: 'x86_64' },
    { name: 'tool', version: '1.1', arch: 'x86_64' },
    { name: 'tool', version: '1.2', arch: 'x86_64' },
    { name: 'extra', version: '0.1', arch: 'noarch' },
  ]);
  for (const f of built)
    rpm[
      f
        .split('/')
        .pop()!
        .replace(/\.rpm$/, '')
    ] = f;
  const other = await buildRpms(join(work, 'rebuilt'), [
    { name: 'tool', version: '1.1', arch: 'x86_64', payload: 'other bytes' },
  ]);
  rpm.rebuilt = other[0]!;
});

const pub = (repo: string, ...args: string[]) =>
  pkgpub(['publish', '--to', repo, '--signing-key', key.secretFile, ...args]);

describe('incremental and safe yum publishing', () => {
  it('adds to what is published, changes nothing on a republish, and refuses other contents unless --force', async () => {
    const repo = join(work, 'inc');
    expect((await pub(repo, rpm['tool-1.0-1.x86_64']!)).code).toBe(0);
    const second = await pub(repo, rpm['tool-1.1-1.x86_64']!, rpm['extra-0.1-1.noarch']!, '--json');
    expect(second.code, second.err).toBe(0);
    expect(JSON.parse(second.out).changes.yum.added).toEqual(['tool 1.1-1 x86_64', 'extra 0.1-1 noarch']);
    let seen = await dnfSees(repo);
    expect(seen.mc.code, seen.mc.out).toBe(0);
    expect(seen.nevras).toEqual(['extra-0:0.1-1.noarch', 'tool-0:1.0-1.x86_64', 'tool-0:1.1-1.x86_64']);

    // The unsigned input matches its published signed copy by header: nothing to do.
    const before = await tree(repo);
    const again = await pub(repo, rpm['tool-1.1-1.x86_64']!, rpm['tool-1.0-1.x86_64']!, '--json');
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out).plan.puts).toEqual([]);
    expect(JSON.parse(again.out).changes.yum.unchanged).toHaveLength(2);
    expect(await tree(repo)).toEqual(before);

    const refused = await pub(repo, rpm.rebuilt!);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/tool 1\.1-1 x86_64 is already published with other contents.*--force/);
    expect(await tree(repo)).toEqual(before);
    const forced = await pub(repo, rpm.rebuilt!, '--force');
    expect(forced.code, forced.err).toBe(0);
    seen = await dnfSees(repo);
    expect(seen.mc.code, seen.mc.out).toBe(0);
    const dl = await seen.dnf.dnf(['install', 'tool-1.1']);
    expect(dl.code, dl.out).toBe(0);
    expect(await readFile(join(seen.dnf.dir, 'root/opt/tool/payload'), 'utf8')).toBe('other bytes\n');
  });

  it('never reads back published rpms: a later publish reads only repodata', async () => {
    const repo = join(work, 'noreread');
    expect((await pub(repo, rpm['tool-1.0-1.x86_64']!, rpm['extra-0.1-1.noarch']!)).code).toBe(0);
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
    const res = await publish({
      inputs: [rpm['tool-1.1-1.x86_64']!],
      store: spy,
      cfg: resolveConfig({}),
      signer,
    });
    expect(res.changes.yum.added).toEqual(['tool 1.1-1 x86_64']);
    expect(reads.filter((k) => k.endsWith('.rpm'))).toEqual([]);
    expect(reads.some((k) => k.endsWith('repodata/repomd.xml'))).toBe(true);
  });

  it('remove drops an rpm; dry-run prints the plan and writes nothing; old repodata lasts one generation', async () => {
    const repo = join(work, 'remove');
    // Without history (rollback.generations 0) a removal's garbage goes straight to the scheduler.
    const cfgDir = await mkdtemp(join(work, 'nohist-'));
    const noHistory = join(cfgDir, 'pkgpub.yaml');
    await writeFile(noHistory, 'rollback:\n  generations: 0\n');
    expect((await pub(repo, rpm['tool-1.0-1.x86_64']!, rpm['tool-1.1-1.x86_64']!)).code).toBe(0);
    const firstGen = (await readdir(join(repo, 'packages/rpm/repodata'))).filter((f) =>
      f.includes('-primary'),
    );
    const before = await tree(repo);
    const dry = await pkgpub([
      'remove',
      'tool=1.0',
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
      '--dry-run',
      '--gc-grace',
      '0',
      '--config',
      noHistory,
    ]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/^PUT {4}packages\/rpm\/repodata\/repomd\.xml /m);
    expect(dry.out).toMatch(/^DELETE packages\/rpm\/tool-1\.0-1\.x86_64\.rpm$/m);
    expect(await tree(repo)).toEqual(before);
    const rm1 = await pkgpub([
      'remove',
      'tool=1.0-1',
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
      '--gc-grace',
      '0',
      '--config',
      noHistory,
    ]);
    expect(rm1.code, rm1.err).toBe(0);
    let seen = await dnfSees(repo);
    expect(seen.nevras).toEqual(['tool-0:1.1-1.x86_64']);
    const afterRemove = await readdir(join(repo, 'packages/rpm/repodata'));
    expect(afterRemove).toEqual(expect.arrayContaining(firstGen));
    // With --gc-grace 0 the removed rpm is gone from where rpms live and from the primary index.
    const rpmsLeft = (await readdir(join(repo, 'packages/rpm'))).filter((f) => f.endsWith('.rpm'));
    expect(rpmsLeft).toEqual(['tool-1.1-1.x86_64.rpm']);
    expect([...(await primaryPkgids(join(repo, 'packages/rpm'))).keys()]).toEqual(['tool-1.1-1.x86_64.rpm']);
    // One more publish: the first generation goes, the previous one stays.
    expect((await pub(repo, rpm['tool-1.2-1.x86_64']!, '--gc-grace', '0', '--config', noHistory)).code).toBe(
      0,
    );
    const third = await readdir(join(repo, 'packages/rpm/repodata'));
    expect(third.filter((f) => firstGen.includes(f))).toEqual([]);
    expect(third.filter((f) => f.includes('-primary'))).toHaveLength(2);
    seen = await dnfSees(repo);
    expect(seen.nevras).toEqual(['tool-0:1.1-1.x86_64', 'tool-0:1.2-1.x86_64']);
  });

  describe('a publish killed after each single write leaves a repo dnf reads, and the next publish completes it', () => {
    const points = new CrashPoints(20);
    const cfg = resolveConfig({});
    const repomdAsc = 'packages/rpm/repodata/repomd.xml.asc';
    let inputs: string[];
    let base: string;
    let keyFile: string;
    /** Crash points that fell in the gap between the new repomd.xml.asc and the new repomd.xml. */
    const gaps: number[] = [];
    /** dnf judges each distinct repodata/ tree once (client-verdicts.ts). */
    const verdicts = new ClientVerdicts<{ code: number; out: string; nevras: string[] }>();
    /** One time for every crashed and completing publish, so equal states are equal in every byte. */
    let now: Date;
    let crashSigner: Signer;
    const dnfJudges = async (repo: string, repoGpgcheck = true) =>
      verdicts.judge(
        await dnfReadsFingerprint(new FsStore(repo), 'packages/rpm', [
          await readFile(keyFile),
          `repo_gpgcheck=${repoGpgcheck}`,
        ]),
        async () => {
          if (repoGpgcheck) {
            const seen = await dnfSees(repo, keyFile);
            return { code: seen.mc.code, out: seen.mc.out, nevras: seen.nevras };
          }
          const dnf = await makeDnfRoot({
            baseurl: `file://${repo}/packages/rpm`,
            gpgkey: keyFile,
            repoGpgcheck,
          });
          const mc = await dnf.dnf(['makecache']);
          return { code: mc.code, out: mc.out, nevras: mc.code === 0 ? await dnfNevras(dnf) : [] };
        },
      );
    beforeAll(async () => {
      base = join(work, 'crash-base');
      expect((await pub(base, rpm['tool-1.0-1.x86_64']!)).code).toBe(0);
      inputs = [rpm['tool-1.1-1.x86_64']!, rpm['extra-0.1-1.noarch']!];
      keyFile = join(base, 'keys/falco-packages.asc');
      // The one unavoidable gap: repomd.xml.asc is new, repomd.xml still old (see sign-repomd.ts).
      const dry = await publish({ inputs, store: new FsStore(base), cfg, signer, dryRun: true });
      const order = dry.plan.tiers.flatMap((t) => t.steps.map((s) => s.file.key));
      expect(order[order.indexOf(repomdAsc) + 1]).toBe('packages/rpm/repodata/repomd.xml');
      now = new Date();
      crashSigner = sameSignatures((await loadSigner({ keyFile: key.secretFile, now })).signer);
    });

    it.each(points.shardIds)(`crash points k ≡ %i (mod ${points.shards})`, async (shard) => {
      await points.run(shard, async (k) => {
        const repo = join(work, `crash-${k}`);
        await cp(base, repo, { recursive: true });
        const crashing = new CrashAfterStore(new FsStore(repo), k);
        const crash = await publish({
          inputs,
          store: crashing,
          cfg,
          signer: crashSigner,
          now,
          concurrency: 1,
        }).then(
          // A run whose writes all landed but the lease's release counts as crashed there too.
          () => crashing.refusal,
          (e: unknown) => e as Error,
        );
        if (crash) {
          expect(crash.message, `after ${k} writes`).toMatch(/injected crash/);
          if (crashing.written.at(-1) === repomdAsc) {
            gaps.push(k);
            expect(crash.message).toMatch(/before writing packages\/rpm\/repodata\/repomd\.xml$/);
            const strict = await dnfJudges(repo);
            expect(strict.out).toMatch(/repomd\.xml GPG signature verification error/);
            // Everything the old repomd.xml names is intact: without repo_gpgcheck dnf reads it, rpm signatures included.
            const loose = await dnfJudges(repo, false);
            expect(loose.code, loose.out).toBe(0);
            expect(loose.nevras).toEqual(['tool-0:1.0-1.x86_64']);
          } else {
            const mid = await dnfJudges(repo);
            expect(mid.code, `after ${k} writes:\n${mid.out}`).toBe(0);
            expect(mid.nevras, `after ${k} writes`).toContain('tool-0:1.0-1.x86_64');
          }
          await publish({ inputs, store: new FsStore(repo), cfg, signer: crashSigner, now });
        }
        const done = await dnfJudges(repo);
        expect(done.nevras, `completed after crash at ${k}`).toEqual([
          'extra-0:0.1-1.noarch',
          'tool-0:1.0-1.x86_64',
          'tool-0:1.1-1.x86_64',
        ]);
        await rm(repo, { recursive: true });
        return crash ? undefined : crashing.writes;
      });
    });

    it('the shards together crashed it after every single write, the gap once', () => {
      // 19 writes when this was written (fewer than apt's 56): a lock object will add some.
      const total = points.expectAllCovered(15);
      expect(gaps).toHaveLength(1);
      console.log(
        `yum crash points: ${total}; dnf judged ${verdicts.runs} distinct states of ${verdicts.asked}`,
      );
      // Some point must have changed what dnf reads, or the crashes never reached the repodata.
      expect(verdicts.runs).toBeGreaterThan(2);
    });
  });
});

describe('signing modes and compression', () => {
  it('--no-sign-rpms publishes rpms byte for byte with gpgcheck=0 in the .repo; an rpm signed by the project key is kept as is', async () => {
    const repo = join(work, 'nosign');
    const res = await pub(repo, rpm['tool-1.0-1.x86_64']!, '--no-sign-rpms');
    expect(res.code, res.err).toBe(0);
    expect(await readFile(join(repo, 'packages/rpm/tool-1.0-1.x86_64.rpm'))).toEqual(
      await readFile(rpm['tool-1.0-1.x86_64']!),
    );
    const repoFile = await readFile(join(repo, 'packages/rpm/falco.repo'), 'utf8');
    expect(repoFile).toMatch(/^gpgcheck=0$/m);
    expect(repoFile).toMatch(/^repo_gpgcheck=1$/m);

    const signedRepo = join(work, 'signed-once');
    expect((await pub(signedRepo, rpm['tool-1.0-1.x86_64']!)).code).toBe(0);
    const signedCopy = join(signedRepo, 'packages/rpm/tool-1.0-1.x86_64.rpm');
    const again = join(work, 'signed-again');
    expect((await pub(again, signedCopy)).code).toBe(0);
    expect(await readFile(join(again, 'packages/rpm/tool-1.0-1.x86_64.rpm'))).toEqual(
      await readFile(signedCopy),
    );
    const check = await rpmCheckSig(
      join(work, 'db-again'),
      key.publicFile,
      join(again, 'packages/rpm/tool-1.0-1.x86_64.rpm'),
    );
    expect(check.out).toMatch(/Signature, key ID [0-9a-f]{8}: OK/);
  });

  it('--hardlink links unsigned rpms into the tree (same inode), dnf reads it, and --help names the flag', async () => {
    const repo = join(work, 'hardlink');
    const input = rpm['tool-1.0-1.x86_64']!;
    const res = await pub(repo, input, '--no-sign-rpms', '--hardlink');
    expect(res.code, res.err).toBe(0);
    const published = join(repo, 'packages/rpm/tool-1.0-1.x86_64.rpm');
    expect((await stat(published)).ino).toBe((await stat(input)).ino);
    // The .asc and the repodata are pkgpub's own bytes, never links.
    expect((await stat(`${published}.asc`)).nlink).toBe(1);
    const more = await pub(repo, input, rpm['extra-0.1-1.noarch']!, '--no-sign-rpms', '--hardlink');
    expect(more.code, more.err).toBe(0);
    expect((await readdir(join(repo, 'packages/rpm'))).filter((n) => n.startsWith('.pkgpub-tmp'))).toEqual(
      [],
    );
    const { mc, nevras } = await dnfSees(repo);
    expect(mc.code, mc.out).toBe(0);
    expect(nevras).toEqual(['extra-0:0.1-1.noarch', 'tool-0:1.0-1.x86_64']);

    const help = await pkgpub(['publish', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/--hardlink/);
    const s3 = await pkgpub(['publish', input, '--to', 's3://bucket/x', '--hardlink', '--unsigned']);
    expect(s3.code).toBe(2);
    expect(s3.err).toMatch(/--hardlink only applies to folder targets/);
  });

  it('an unsigned repository (--unsigned) works with gpgcheck=0 and repo_gpgcheck=0', async () => {
    const repo = join(work, 'unsigned');
    const res = await pkgpub(['publish', rpm['extra-0.1-1.noarch']!, '--to', repo, '--unsigned'], {
      PKGPUB_SIGNING_KEY: undefined,
    });
    expect(res.code, res.err).toBe(0);
    const repoFile = await readFile(join(repo, 'packages/rpm/falco.repo'), 'utf8');
    expect(repoFile).toMatch(/^repo_gpgcheck=0$/m);
    const dnf = await makeDnfRoot({ baseurl: `file://${repo}/packages/rpm` });
    expect((await dnf.dnf(['makecache'])).code).toBe(0);
    expect(await dnfNevras(dnf)).toEqual(['extra-0:0.1-1.noarch']);
  });

  it('yum.compression: zstd writes .xml.zst repodata that dnf reads, on the dev channel', async () => {
    const dir = await mkdtemp(join(work, 'zstd-'));
    const cfg = join(dir, 'pkgpub.yaml');
    await import('node:fs/promises').then((fs) => fs.writeFile(cfg, 'yum:\n  compression: zstd\n'));
    const repo = join(dir, 'out');
    const res = await pub(
      repo,
      rpm['tool-1.0-1.x86_64']!,
      fixture('falcoctl-1.0~rc1-2.el9.noarch.rpm'),
      '--config',
      cfg,
      '--channel',
      'dev',
    );
    expect(res.code, res.err).toBe(0);
    const repodata = await readdir(join(repo, 'packages/rpm-dev/repodata'));
    expect(repodata.filter((f) => f.endsWith('.xml.zst'))).toHaveLength(3);
    const seen = await dnfSees(repo, join(repo, 'keys/falco-packages.asc'), 'packages/rpm-dev');
    expect(seen.mc.code, seen.mc.out).toBe(0);
    expect(seen.nevras).toEqual(['falcoctl-3:1.0~rc1-2.el9.noarch', 'tool-0:1.0-1.x86_64']);
  });

  it('signing reads each rpm for its headers, then hashes what it publishes: the signed copy, or an rpm the key already signed', async () => {
    const once = join(work, 'headers-once');
    expect((await pub(once, rpm['tool-1.2-1.x86_64']!)).code).toBe(0);
    const alreadySigned = join(once, 'packages/rpm/tool-1.2-1.x86_64.rpm');

    const repo = join(work, 'headers');
    const reads: { path: string; sha256?: string }[] = [];
    const res = await publish({
      inputs: [rpm['tool-1.0-1.x86_64']!, alreadySigned],
      store: new FsStore(repo),
      cfg: resolveConfig({}),
      signer,
      progress: { onRead: (a) => reads.push({ path: a.path, ...(a.sha256 ? { sha256: a.sha256 } : {}) }) },
    });
    expect(res.changes.yum.added).toEqual(['tool 1.0-1 x86_64', 'tool 1.2-1 x86_64']);
    expect(reads.map((r) => r.path).sort()).toEqual([alreadySigned, rpm['tool-1.0-1.x86_64']!].sort());
    expect(reads.filter((r) => r.sha256)).toEqual([]);

    // Each pkgid is the sha256 of the file published under its name.
    const pkgids = await primaryPkgids(join(repo, 'packages/rpm'));
    expect([...pkgids.keys()].sort()).toEqual(['tool-1.0-1.x86_64.rpm', 'tool-1.2-1.x86_64.rpm']);
    for (const [href, pkgid] of pkgids)
      expect(pkgid, href).toBe(sha256Hex(await readFile(join(repo, 'packages/rpm', href))));
    expect(await readFile(join(repo, 'packages/rpm/tool-1.2-1.x86_64.rpm'))).toEqual(
      await readFile(alreadySigned),
    );
    const seen = await dnfSees(repo);
    expect(seen.mc.code, seen.mc.out).toBe(0);
    // dnf checks each download against its pkgid and its signature (gpgcheck=1).
    for (const step of [
      ['install', 'tool-1.0'],
      ['upgrade', 'tool'],
    ]) {
      const r = await seen.dnf.dnf(step);
      expect(r.code, r.out).toBe(0);
    }
    expect(await readFile(join(seen.dnf.dir, 'root/opt/tool/payload'), 'utf8')).toMatch(/1\.2/);
  });

  it('publishing into a repository createrepo_c made compares by file digest where pkgpub has no header record', async () => {
    const repo = join(work, 'foreign');
    const dir = join(repo, 'packages/rpm');
    await mkdir(dir, { recursive: true });
    await cp(rpm['tool-1.1-1.x86_64']!, join(dir, 'tool-1.1-1.x86_64.rpm'));
    await execFileAsync('createrepo_c', ['-q', '--no-database', dir]);
    const inputs = (input: string) => ({
      inputs: [input],
      store: new FsStore(repo),
      cfg: resolveConfig({}),
      signer,
    });

    // The same unsigned file: unchanged, although only its headers were read at first.
    const same = await publish(inputs(rpm['tool-1.1-1.x86_64']!));
    expect(same.changes.yum.unchanged).toEqual(['tool 1.1-1 x86_64']);
    expect(same.changes.yum.added).toEqual([]);

    // Other bytes under the same NEVRA: refused, naming the published pkgid.
    const before = await tree(repo);
    const err = await publish(inputs(rpm.rebuilt!)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      /tool 1\.1-1 x86_64 is already published with other contents \(pkgid [0-9a-f]{12}…\)/,
    );
    expect(await tree(repo)).toEqual(before);
  });
});

/** href -> pkgid, from the primary.xml.gz the repomd.xml in `dir` names. */
async function primaryPkgids(dir: string): Promise<Map<string, string>> {
  const repomd = await readFile(join(dir, 'repodata/repomd.xml'), 'utf8');
  const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
  const xml = gunzipSync(await readFile(join(dir, href))).toString('utf8');
  const out = new Map<string, string>();
  for (const pkg of xml.split('<package ').slice(1)) {
    const pkgid = /<checksum type="sha256" pkgid="YES">([0-9a-f]{64})</.exec(pkg)![1]!;
    out.set(/<location href="([^"]+)"/.exec(pkg)![1]!, pkgid);
  }
  return out;
}
