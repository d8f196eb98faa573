import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type PublishResult, publish } from '../../src/changes/publish.js';
import { prune } from '../../src/changes/prune.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { LEASE_KEY } from '../../src/transaction/lease.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { killStrayProcesses, pollUntil, secs, startCli } from '../support/cli-process.js';
import { pkgpub } from '../support/cli.js';
import { dnfNevras, makeDnfRoot } from '../support/dnf.js';
import { gpgv, keyringFor, makeGpgHome } from '../support/gpg.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { PauseBeforeWrite } from '../support/pause-store.js';
import { driverVersionFolder } from '../support/driver-versions.js';
import { buildRpms } from '../support/rpmbuild.js';
import { tree } from '../support/tree.js';

// `pkgpub prune` on the dev channel, judged by real apt and dnf with signature checks on, and by
// sha256sum and gpgv for the tarballs.

const run = promisify(execFile);
let key: TestKey;
let signer: Signer;
let work: string;
const deb = (n: string) => join(fixturesDir, 'deb', n);
/** falco amd64 in four versions (0.38.1 < 0.38.2 < 0.39.0 < 0.39.0+git1-1) and one arm64. */
const DEBS = [
  'falco_0.38.1_amd64.deb',
  'falco_0.38.2_amd64.deb',
  'falco_0.39.0_amd64.deb',
  'falco_0.39.0+git1-1_amd64.deb',
  'falco_0.39.0_arm64.deb',
].map(deb);
const rpms: Record<string, string> = {};
const tarballs: Record<string, string> = {};

beforeAll(async () => {
  key = await makeTestKey();
  ({ signer } = await loadSigner({ keyFile: key.secretFile }));
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'prune-'));
  noHistory = join(work, 'pkgpub.yaml');
  await writeFile(noHistory, 'rollback:\n  generations: 0\n');
  const built = await buildRpms(
    join(work, 'rpms'),
    ['1.0', '1.1', '1.2', '1.3'].map((version) => ({ name: 'tool', version, arch: 'x86_64' })),
  );
  for (const f of built)
    rpms[
      f
        .split('/')
        .pop()!
        .replace(/-1\.x86_64\.rpm$/, '')
    ] = f;
  const content = join(work, 'tar-content');
  for (const v of ['0.1.0', '0.2.0', '0.3.0', '0.4.0']) {
    await mkdir(content, { recursive: true });
    await writeFile(join(content, 'README'), `falco ${v}\n`);
    const out = join(work, 'tarballs', `falco-${v}-x86_64.tar.gz`);
    await mkdir(join(work, 'tarballs'), { recursive: true });
    await run('tar', ['-czf', out, '-C', content, 'README']);
    tarballs[v] = out;
  }
});

afterEach(async () => {
  const killed = await killStrayProcesses();
  if (killed) console.log(`killed ${killed} CLI process(es) a failed test left running`);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Signed, into the dev channel. The channel keeps no earlier generations (rollback.generations: 0):
 * otherwise the history holds pruned files until the prune's generation leaves it (rollback.test.ts).
 */
const flags = () => ['--signing-key', key.secretFile, '--channel', 'dev', '--config', noHistory];
let noHistory: string;

async function aptSees(repo: string) {
  const apt = await makeAptRoot(
    `deb [signed-by=${join(repo, 'keys/falco-packages.asc')}] file:${repo}/packages/deb-dev stable main`,
  );
  const up = await apt.apt('apt-get', ['update']);
  expect(up.code, up.out).toBe(0);
  expect(aptProblems(up.out)).toEqual([]);
  return (await aptVersions(apt, 'falco')).sort();
}

async function dnfSees(repo: string) {
  const dnf = await makeDnfRoot({
    baseurl: `file://${repo}/packages/rpm-dev`,
    gpgkey: join(repo, 'keys/falco-packages.asc'),
  });
  const mc = await dnf.dnf(['makecache']);
  expect(mc.code, mc.out).toBe(0);
  return dnfNevras(dnf);
}

/** The arch folder's SHA256SUMS checks with sha256sum -c, its .asc with gpgv; returns the names it lists. */
async function checkSums(folder: string): Promise<string[]> {
  const check = await run('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: folder });
  const home = makeGpgHome();
  try {
    const ring = keyringFor(home, key.publicArmored);
    const v = gpgv(home, ring, join(folder, 'SHA256SUMS.asc'), join(folder, 'SHA256SUMS'));
    expect(v.status, v.stderr).toBe(0);
  } finally {
    home.cleanup();
  }
  return check.stdout
    .split('\n')
    .filter((l) => l.endsWith(': OK'))
    .map((l) => l.slice(0, -4))
    .sort();
}

const PROTECT = ['--protect', 'falco=0.38.1', '--protect', 'tool=1.0', '--protect', 'falco=0.1.0'];

describe('pkgpub prune', () => {
  it('drops versions from the indexes at once and their files only after the grace period', async () => {
    const repo = join(work, 'main');
    const pub = await pkgpub([
      'publish',
      ...DEBS,
      ...Object.values(rpms),
      ...Object.values(tarballs),
      '--to',
      repo,
      ...flags(),
    ]);
    expect(pub.code, pub.err).toBe(0);
    expect(await aptSees(repo)).toEqual(['0.38.1', '0.38.2', '0.39.0', '0.39.0+git1-1']);
    const binDir = join(repo, 'packages/bin-dev/x86_64');
    expect(await checkSums(binDir)).toHaveLength(4);

    // A dry run names each version, its rule and size, and every write, and writes nothing.
    const before = await tree(repo);
    const args = ['prune', '--to', repo, ...flags(), '--keep', '2', ...PROTECT];
    const dry = await pkgpub(args);
    expect(dry.code, dry.err).toBe(0);
    expect(await tree(repo)).toEqual(before);
    expect(dry.out).toMatch(/^dry run: would remove 3 version\(s\) from the dev channel/m);
    expect(dry.out).toMatch(/^remove deb falco 0\.38\.2 amd64 \(.+\): beyond the newest 2 \(keep\)$/m);
    expect(dry.out).toMatch(/^remove rpm tool 1\.1-1 x86_64 \(.+\): beyond the newest 2 \(keep\)$/m);
    expect(dry.out).toMatch(
      /^remove tarball x86_64\/falco-0\.2\.0-x86_64\.tar\.gz \(.+\): beyond the newest 2/m,
    );
    expect(dry.out).toMatch(/^keep {3}deb falco 0\.38\.1 amd64: protected$/m);
    expect(dry.out).toMatch(/^PUT {4}packages\/deb-dev\/dists\/stable\/InRelease /m);
    expect(dry.out).toMatch(/^PUT {4}packages\/rpm-dev\/repodata\/repomd\.xml /m);
    expect(dry.out).toMatch(/^PUT {4}packages\/bin-dev\/x86_64\/SHA256SUMS /m);
    expect(dry.out).toMatch(/^PUT {4}\.pkgpub-garbage\.json /m);
    expect(dry.out).not.toMatch(/^DELETE /m);
    const json = await pkgpub([...args, '--json']);
    expect(json.code, json.err).toBe(0);
    const report = JSON.parse(json.out);
    expect(report.dryRun).toBe(true);
    expect(report.remove.map((x: { kind: string; version: string }) => `${x.kind} ${x.version}`)).toEqual([
      'deb 0.38.2',
      'rpm 0:1.1-1',
      'tarball 0.2.0',
    ]);
    expect(report.bytesFreed).toBe(report.remove.reduce((n: number, x: { size: number }) => n + x.size, 0));
    expect(report.bytesFreed).toBeGreaterThan(0);
    expect(await tree(repo)).toEqual(before);

    const applied = await pkgpub([...args, '--apply']);
    expect(applied.code, applied.err).toBe(0);
    expect(applied.out).toMatch(/^pruned 3 version\(s\) from the dev channel/m);
    // Newest and protected stay, the rest beyond 2 go; arm64's only version is its newest.
    expect(await aptSees(repo)).toEqual(['0.38.1', '0.39.0', '0.39.0+git1-1']);
    expect(existsSync(join(repo, 'packages/deb-dev/stable/falco_0.39.0_arm64.deb'))).toBe(true);
    expect(
      await readFile(join(repo, 'packages/deb-dev/dists/stable/main/binary-arm64/Packages'), 'utf8'),
    ).toMatch(/^Version: 0\.39\.0$/m);
    expect(await dnfSees(repo)).toEqual([
      'tool-0:1.0-1.x86_64',
      'tool-0:1.2-1.x86_64',
      'tool-0:1.3-1.x86_64',
    ]);
    expect(await checkSums(binDir)).toEqual([
      'falco-0.1.0-x86_64.tar.gz',
      'falco-0.3.0-x86_64.tar.gz',
      'falco-0.4.0-x86_64.tar.gz',
    ]);
    // Within the grace period the files stay for clients holding the old indexes.
    const removedFiles = [
      'packages/deb-dev/stable/falco_0.38.2_amd64.deb',
      'packages/deb-dev/stable/falco_0.38.2_amd64.deb.asc',
      'packages/rpm-dev/tool-1.1-1.x86_64.rpm',
      'packages/rpm-dev/tool-1.1-1.x86_64.rpm.asc',
      'packages/bin-dev/x86_64/falco-0.2.0-x86_64.tar.gz',
      'packages/bin-dev/x86_64/falco-0.2.0-x86_64.tar.gz.asc',
    ];
    for (const f of removedFiles) expect(existsSync(join(repo, f)), f).toBe(true);
    const pending = JSON.parse(await readFile(join(repo, '.pkgpub-garbage.json'), 'utf8')).pending.map(
      (p: { key: string }) => p.key,
    );
    for (const f of removedFiles) expect(pending).toContain(f);

    // A later run once the grace has passed (here: none) deletes them; nothing else changes.
    const again = await pkgpub([
      'prune',
      '--to',
      repo,
      ...flags(),
      '--keep',
      '2',
      ...PROTECT,
      '--apply',
      '--gc-grace',
      '0',
    ]);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/^pruned 0 version\(s\)/m);
    for (const f of removedFiles) expect(existsSync(join(repo, f)), f).toBe(false);
    for (const f of ['falco_0.38.1_amd64.deb', 'falco_0.39.0+git1-1_amd64.deb'])
      expect(existsSync(join(repo, 'packages/deb-dev/stable', f)), f).toBe(true);
    expect(existsSync(join(repo, 'packages/rpm-dev/tool-1.0-1.x86_64.rpm'))).toBe(true);
    expect(await aptSees(repo)).toEqual(['0.38.1', '0.39.0', '0.39.0+git1-1']);
    expect(await dnfSees(repo)).toHaveLength(3);
    expect(await checkSums(binDir)).toHaveLength(3);
    // The pool folder's listing no longer offers the deleted deb.
    const listing = await readFile(join(repo, 'packages/deb-dev/stable/listing.json'), 'utf8');
    expect(listing).not.toContain('falco_0.38.2_amd64.deb');
    expect(listing).toContain('falco_0.38.1_amd64.deb');
    expect(existsSync(join(repo, LEASE_KEY))).toBe(false);
  });

  it('refuses the stable channel without --allow-stable, and prunes it with it', async () => {
    const repo = join(work, 'stable');
    const pub = await pkgpub(['publish', ...DEBS.slice(0, 3), '--to', repo, '--signing-key', key.secretFile]);
    expect(pub.code, pub.err).toBe(0);
    const before = await tree(repo);
    const refused = await pkgpub([
      'prune',
      '--keep',
      '1',
      '--apply',
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/stable channel is pruned only with --allow-stable/);
    expect(await tree(repo)).toEqual(before);
    const allowed = await pkgpub([
      'prune',
      '--keep',
      '1',
      '--allow-stable',
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
      '--json',
    ]);
    expect(allowed.code, allowed.err).toBe(0);
    expect(JSON.parse(allowed.out).remove.map((x: { version: string }) => x.version)).toEqual([
      '0.38.2',
      '0.38.1',
    ]);
    expect(await tree(repo)).toEqual(before);
  });

  it("older-than goes by a deb file's last-modified time, max-size by the sizes in apt's index", async () => {
    const repo = join(work, 'dates');
    const pub = await pkgpub([
      'publish',
      ...DEBS.slice(0, 3),
      '--to',
      repo,
      '--unsigned',
      '--channel',
      'dev',
    ]);
    expect(pub.code, pub.err).toBe(0);
    const pool = join(repo, 'packages/deb-dev/stable');
    const old = new Date(Date.now() - 100 * 86_400_000);
    await utimes(join(pool, 'falco_0.38.2_amd64.deb'), old, old);
    const dry = async (...extra: string[]) => {
      const res = await pkgpub(['prune', '--channel', 'dev', '--to', repo, '--unsigned', '--json', ...extra]);
      expect(res.code, res.err).toBe(0);
      return JSON.parse(res.out);
    };
    const aged = await dry('--older-than', '30d');
    expect(aged.remove.map((x: { version: string; reasons: string[] }) => [x.version, x.reasons])).toEqual([
      ['0.38.2', ['older-than']],
    ]);
    expect(Math.abs(Date.parse(aged.remove[0].published) - old.getTime())).toBeLessThan(1000);
    const sizes = await Promise.all(DEBS.slice(0, 3).map(async (f) => (await stat(f)).size));
    const total = sizes.reduce((a, b) => a + b, 0);
    const fit = await dry('--max-size', String(total - 1));
    expect(fit.sizeBefore).toBe(total);
    // The lowest version of a package goes first, whatever its file's date.
    expect(fit.remove.map((x: { version: string; reasons: string[] }) => [x.version, x.reasons])).toEqual([
      ['0.38.1', ['max-size']],
    ]);
    expect(fit.bytesFreed).toBe(sizes[0]);
    expect((await dry('--max-size', String(total))).remove).toEqual([]);
  });

  it('refuses bad values with a usage error (exit 2) naming what it expects', async () => {
    const repo = join(work, 'bad');
    const cases: [string[], RegExp][] = [
      [['--keep', '0'], /keep must be a whole number of at least 1, not "0"/],
      [['--max-size', '10XB'], /max size must be .* like 10GB, not "10XB"/],
      [['--older-than', 'yesterday'], /like 30d or 12h, not "yesterday"/],
      [['--protect', 'noequals'], /protect takes NAME=VERSION .*"noequals"/],
      [[], /nothing to prune by/],
    ];
    for (const [extra, message] of cases) {
      const res = await pkgpub(['prune', '--channel', 'dev', '--to', repo, '--unsigned', ...extra]);
      expect(res.code, extra.join(' ')).toBe(2);
      expect(res.err).toMatch(message);
    }
    expect(existsSync(repo)).toBe(false);
    const drivers = await pkgpub(['drivers', 'prune', '--max-size', '10XB', '--to', repo]);
    expect(drivers.code).toBe(2);
    expect(drivers.err).toMatch(/not "10XB"/);
  });

  it('a prune racing a publish into the same channel loses nothing (folder: the publish waits for the lease)', async () => {
    const repo = join(work, 'race');
    const cfg = resolveConfig({}, { channel: 'dev' });
    const first = await publish({
      inputs: [...DEBS.slice(0, 3), rpms['tool-1.0']!, rpms['tool-1.1']!, rpms['tool-1.2']!],
      store: new FsStore(repo),
      cfg,
      signer,
    });
    expect(first.changes.apt.added).toHaveLength(3);
    const steps: string[] = [];
    let publishing: Promise<PublishResult> | undefined;
    // The prune has read the channel and decided; just before its first pointer a publish starts.
    const paused = new PauseBeforeWrite(new FsStore(repo), 'InRelease', async () => {
      publishing = publish({
        inputs: [DEBS[3]!, rpms['tool-1.3']!],
        store: new FsStore(repo),
        cfg,
        signer,
        progress: { onStep: (l) => steps.push(l) },
      });
      const end = Date.now() + 20_000;
      while (!steps.some((l) => l.startsWith('waiting for pkgpub prune'))) {
        if (Date.now() > end) throw new Error(`the publish never waited: ${steps.join('; ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const pruned = await prune({
      store: paused,
      cfg,
      signer,
      policy: { keep: 2, protect: [] },
      gcGraceMs: 3_600_000,
    });
    expect(pruned.report.decision.remove.map((r) => `${r.version.name} ${r.version.version}`)).toEqual([
      'falco 0.38.1',
      'tool 0:1.0-1',
    ]);
    const published = await publishing!;
    expect(published.changes.apt.added).toEqual(['falco 0.39.0+git1-1 amd64']);
    expect(published.changes.yum.added).toEqual(['tool 1.3-1 x86_64']);
    // Both landed: the prune's removals and the publish's additions.
    expect(await aptSees(repo)).toEqual(['0.38.2', '0.39.0', '0.39.0+git1-1']);
    expect(await dnfSees(repo)).toEqual([
      'tool-0:1.1-1.x86_64',
      'tool-0:1.2-1.x86_64',
      'tool-0:1.3-1.x86_64',
    ]);
    expect(existsSync(join(repo, LEASE_KEY))).toBe(false);
  });

  it('the built CLI: a prune stopped (SIGSTOP) once it has read InRelease, a publish meanwhile, both land', async () => {
    // As in support/prune-race.ts: the prune's read of InRelease shows in its atime once the atime
    // is set before the mtime (relatime updates it on the next read).
    const repo = join(work, 'race-cli');
    const cfg = resolveConfig({}, { channel: 'dev' });
    await publish({
      inputs: [...DEBS.slice(0, 3), rpms['tool-1.0']!, rpms['tool-1.1']!, rpms['tool-1.2']!],
      store: new FsStore(repo),
      cfg,
      signer,
    });
    const inRelease = join(repo, 'packages/deb-dev/dists/stable/InRelease');
    const { mtime } = await stat(inRelease);
    await utimes(inRelease, new Date(0), mtime);
    const armed = await stat(inRelease);
    const pruning = startCli(['prune', '--to', repo, ...flags(), '--keep', '2', '--apply'], {
      timeoutMs: 60_000,
    });
    const trigger = await pollUntil(
      async () => {
        const now = await stat(inRelease).catch(() => undefined);
        if (!now || now.ino !== armed.ino) return 'replaced' as const;
        return now.atimeMs !== armed.atimeMs ? ('read' as const) : undefined;
      },
      30_000,
      2,
    );
    const stoppedAt = performance.now();
    if (pruning.running()) pruning.kill('SIGSTOP');
    const publishing = startCli(['publish', DEBS[3]!, rpms['tool-1.3']!, '--to', repo, ...flags()], {
      timeoutMs: 60_000,
    });
    const publishEnded = await Promise.race([
      publishing.done.then(() => true),
      sleep(4_000).then(() => false),
    ]);
    const heldMs = performance.now() - stoppedAt;
    if (pruning.running()) pruning.kill('SIGCONT');
    const [pr, pu] = await Promise.all([pruning.done, publishing.done]);
    console.log(
      `prune CLI race: prune stopped ${secs(stoppedAt - pruning.startedAt)} s after its start (trigger ${trigger}) ` +
        `for ${secs(heldMs)} s; publish ${publishEnded ? 'ended' : 'still waiting'} meanwhile; ` +
        `prune exit ${pr.code ?? pr.signal} after ${secs(pr.ms)} s, publish exit ${pu.code ?? pu.signal} after ${secs(pu.ms)} s`,
    );
    expect(trigger).toBe('read');
    expect(publishing.startedAt).toBeLessThan(pr.endedAt);
    expect(pr.code, pr.err).toBe(0);
    expect(pu.code, pu.err).toBe(0);
    // On a folder the publish waits for the prune's lease, so the prune decided on three versions.
    expect(pu.err).toMatch(/waiting for pkgpub prune/);
    expect(await aptSees(repo)).toEqual(['0.38.2', '0.39.0', '0.39.0+git1-1']);
    expect(await dnfSees(repo)).toEqual([
      'tool-0:1.1-1.x86_64',
      'tool-0:1.2-1.x86_64',
      'tool-0:1.3-1.x86_64',
    ]);
    expect(existsSync(join(repo, LEASE_KEY))).toBe(false);
  });

  it('a prune that starts while a publish holds the channel decides on what the publish committed', async () => {
    const repo = join(work, 'race-2');
    const cfg = resolveConfig({}, { channel: 'dev' });
    await publish({ inputs: DEBS.slice(0, 3), store: new FsStore(repo), cfg, signer });
    const steps: string[] = [];
    let pruning: ReturnType<typeof prune> | undefined;
    const paused = new PauseBeforeWrite(new FsStore(repo), 'InRelease', async () => {
      pruning = prune({
        store: new FsStore(repo),
        cfg,
        signer,
        policy: { keep: 2, protect: [] },
        progress: { onStep: (l) => steps.push(l) },
      });
      const end = Date.now() + 20_000;
      while (!steps.some((l) => l.startsWith('waiting for pkgpub publish'))) {
        if (Date.now() > end) throw new Error(`the prune never waited: ${steps.join('; ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    const published = await publish({ inputs: [DEBS[3]!], store: paused, cfg, signer });
    expect(published.changes.apt.added).toEqual(['falco 0.39.0+git1-1 amd64']);
    const pruned = await pruning!;
    // Four versions seen, so two go: the publish was not overlooked.
    expect(pruned.report.decision.remove.map((r) => r.version.version)).toEqual(['0.38.2', '0.38.1']);
    expect(await aptSees(repo)).toEqual(['0.39.0', '0.39.0+git1-1']);
  });

  it('drivers prune speaks the same rules: --protect VERSION, --max-size, --older-than', async () => {
    const repo = join(work, 'drivers');
    const inputs = join(work, 'driver-inputs');
    const versions = ['1.0.0+driver', '2.0.0+driver', '3.0.0+driver', '4.0.0+driver'];
    const folders = versions.map((v) => driverVersionFolder(inputs, v, { count: 2 }));
    const pub = await pkgpub(['publish', ...folders, '--to', repo, '--unsigned']);
    expect(pub.code, pub.err).toBe(0);
    const dry = async (...extra: string[]) => {
      const res = await pkgpub(['drivers', 'prune', '--to', repo, '--json', ...extra]);
      expect(res.code, res.err).toBe(0);
      return { ...JSON.parse(res.out), err: res.err };
    };
    const kept = await dry('--keep', '2', '--protect', '1.0.0+driver');
    expect(kept.remove).toEqual(['2.0.0+driver']);
    expect(kept.protected).toEqual(['1.0.0+driver']);
    expect(kept.reasons).toEqual({ '2.0.0+driver': ['keep'] });
    // Just published: nothing is a day old.
    expect((await dry('--older-than', '1d')).remove).toEqual([]);
    // One byte fits nothing: all but the newest and the protected go, oldest first, with a warning.
    const tight = await dry('--max-size', '1', '--protect', '3.0.0+driver');
    expect(tight.remove).toEqual(['2.0.0+driver', '1.0.0+driver']);
    expect(tight.bytesFreed).toBeGreaterThan(0);
    expect(tight.err).toMatch(/still .* over --max-size/);
    const applied = await pkgpub([
      'drivers',
      'prune',
      '--to',
      repo,
      '--keep',
      '1',
      '--protect',
      '2.0.0+driver',
      '--apply',
    ]);
    expect(applied.code, applied.err).toBe(0);
    expect(JSON.parse(await readFile(join(repo, 'driver/site/index.json'), 'utf8'))).toEqual([
      '4.0.0+driver',
      '2.0.0+driver',
    ]);
    expect(existsSync(join(repo, 'driver/site/3.0.0+driver.json'))).toBe(false);
    expect(existsSync(join(repo, 'driver/site/2.0.0+driver.json'))).toBe(true);
    // 3.0.0's drivers wait in the driver tree's history while a kept generation names them.
    expect(existsSync(join(repo, 'driver/3.0.0+driver'))).toBe(true);
    const hist = JSON.parse((await pkgpub(['drivers', 'history', '--to', repo, '--json'])).out);
    // 3.0.0's and 1.0.0's two drivers each, and a copy of each one's json.
    expect(hist.generations[0]).toMatchObject({ command: 'drivers prune', heldBack: 6 });
  });
});
