import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { dnfNevras, makeDnfRoot, rpmCheckSig } from '../support/dnf.js';
import { type GpgHome, gpgv, keyringFor, makeGpgHome } from '../support/gpg.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { tree } from '../support/tree.js';

const deb = (n: string) => join(fixturesDir, 'deb', n);
const tarball = (n: string) => join(fixturesDir, 'bin', n);
let key: TestKey;
let work: string;
let gpg: GpgHome;
/** file name without .rpm -> path of small rpms built for these tests. */
const rpm: Record<string, string> = {};

const sha256Of = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

beforeAll(async () => {
  key = await makeTestKey();
  gpg = makeGpgHome();
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'promote-'));
  const built = await buildRpms(join(work, 'built'), [
    { name: 'tool', version: '1.0', arch: 'x86_64' },
    { name: 'tool', version: '1.1', arch: 'x86_64' },
    { name: 'tool', version: '2.0', release: '0.rc1', arch: 'x86_64' },
    { name: 'clash', version: '1.0', arch: 'noarch', payload: 'dev bytes' },
  ]);
  for (const f of built)
    rpm[
      f
        .split('/')
        .pop()!
        .replace(/\.rpm$/, '')
    ] = f;
  const other = await buildRpms(join(work, 'other'), [
    { name: 'clash', version: '1.0', arch: 'noarch', payload: 'stable bytes' },
  ]);
  rpm.clashStable = other[0]!;
});

afterAll(() => gpg?.cleanup());

const publishTo = (repo: string, channel: string, ...inputs: string[]) =>
  pkgpub(['publish', ...inputs, '--to', repo, '--channel', channel, '--signing-key', key.secretFile]);
const promote = (repo: string, ...args: string[]) =>
  pkgpub(['promote', ...args, '--to', repo, '--signing-key', key.secretFile]);

describe('pkgpub promote (folder target)', () => {
  let repo: string;
  beforeAll(async () => {
    repo = join(work, 'tree');
    const dev = await publishTo(
      repo,
      'dev',
      deb('falco_0.38.2_amd64.deb'),
      deb('falco_0.39.0_amd64.deb'),
      deb('falco_0.39.0_arm64.deb'),
      rpm['tool-1.0-1.x86_64']!,
      rpm['tool-1.1-1.x86_64']!,
      tarball('falco-0.39.0-x86_64.tar.gz'),
    );
    expect(dev.code, dev.err).toBe(0);
  }, 60_000);

  it('puts the very bytes of the newest versions into stable; apt and dnf install them with signatures checked', async () => {
    const res = await promote(repo, 'falco', 'tool', '--json');
    expect(res.code, res.err).toBe(0);
    const out = JSON.parse(res.out);
    expect(out.from).toBe('dev');
    expect(out.to).toBe('stable');
    expect(out.changes.apt.added.sort()).toEqual(['falco 0.39.0 amd64', 'falco 0.39.0 arm64']);
    expect(out.changes.yum.added).toEqual(['tool 1.1-1 x86_64']);
    expect(out.changes.bin.added).toEqual(['x86_64/falco-0.39.0-x86_64.tar.gz']);
    // Two debs, an rpm and a tarball, each with its .asc: copies, none uploaded.
    expect(out.applied.copied).toBe(8);
    const copies = out.plan.puts.filter((p: { copyFrom?: string }) => p.copyFrom);
    expect(copies.map((p: { key: string }) => p.key).sort()).toEqual(
      [
        'packages/deb/stable/falco_0.39.0_amd64.deb',
        'packages/deb/stable/falco_0.39.0_arm64.deb',
        'packages/rpm/tool-1.1-1.x86_64.rpm',
        'packages/bin/x86_64/falco-0.39.0-x86_64.tar.gz',
      ]
        .flatMap((k) => [k, `${k}.asc`])
        .sort(),
    );
    for (const p of copies)
      expect(p.copyFrom).toBe(p.key.replace(/^packages\/(deb|rpm|bin)\//, 'packages/$1-dev/'));

    const pairs = [
      ['packages/deb/stable/falco_0.39.0_amd64.deb', 'packages/deb-dev/stable/falco_0.39.0_amd64.deb'],
      ['packages/deb/stable/falco_0.39.0_arm64.deb', 'packages/deb-dev/stable/falco_0.39.0_arm64.deb'],
      ['packages/rpm/tool-1.1-1.x86_64.rpm', 'packages/rpm-dev/tool-1.1-1.x86_64.rpm'],
      [
        'packages/bin/x86_64/falco-0.39.0-x86_64.tar.gz',
        'packages/bin-dev/x86_64/falco-0.39.0-x86_64.tar.gz',
      ],
    ];
    for (const [stable, dev] of pairs) {
      expect(await sha256Of(join(repo, stable!)), stable).toBe(await sha256Of(join(repo, dev!)));
      expect(await readFile(join(repo, `${stable}.asc`), 'utf8')).toBe(
        await readFile(join(repo, `${dev}.asc`), 'utf8'),
      );
      // In a folder the copy is a second name of the same file: no bytes were written.
      expect((await stat(join(repo, stable!))).ino).toBe((await stat(join(repo, dev!))).ino);
    }
    // Not promoted: the older deb and rpm stay in dev only.
    await expect(stat(join(repo, 'packages/deb/stable/falco_0.38.2_amd64.deb'))).rejects.toThrow();
    await expect(stat(join(repo, 'packages/rpm/tool-1.0-1.x86_64.rpm'))).rejects.toThrow();

    // The stanza is dev's, every field, size and hash (the pool path is the same in both channels).
    const stanza = (text: string) => text.split('\n\n').find((p) => p.includes('Version: 0.39.0\n'));
    const packages = (prefix: string) =>
      readFile(join(repo, prefix, 'dists/stable/main/binary-amd64/Packages'), 'utf8');
    const stableStanza = stanza(await packages('packages/deb'));
    expect(stableStanza).toMatch(/^Package: falco\n/);
    expect(stableStanza).toContain('\nFilename: stable/falco_0.39.0_amd64.deb\n');
    expect(stableStanza).toBe(stanza(await packages('packages/deb-dev')));

    // apt, with the key the tree publishes and signature checks on.
    const apt = await makeAptRoot(
      `deb [signed-by=${join(repo, 'keys/falco-packages.asc')}] file:${repo}/packages/deb stable main`,
    );
    const up = await apt.apt('apt-get', ['update']);
    expect(up.code, up.out).toBe(0);
    expect(aptProblems(up.out)).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.39.0']);
    const dl = await apt.apt('apt-get', ['download', 'falco=0.39.0']);
    expect(dl.code, dl.out).toBe(0);
    expect(await sha256Of(join(apt.dir, 'dl', 'falco_0.39.0_amd64.deb'))).toBe(
      await sha256Of(join(repo, 'packages/deb-dev/stable/falco_0.39.0_amd64.deb')),
    );

    // dnf, from the .repo file the stable channel publishes (gpgcheck=1, repo_gpgcheck=1).
    const repoFile = await readFile(join(repo, 'packages/rpm/falco.repo'), 'utf8');
    expect(repoFile).toMatch(/^gpgcheck=1$/m);
    const dnf = await makeDnfRoot({
      baseurl: `file://${repo}/packages/rpm`,
      gpgkey: join(repo, 'keys/falco-packages.asc'),
      gpgcheck: true,
      repoGpgcheck: true,
    });
    const install = await dnf.dnf(['install', 'tool']);
    expect(install.code, install.out).toBe(0);
    expect(await readFile(join(dnf.dir, 'root/opt/tool/payload'), 'utf8')).toBe('tool 1.1\n');
    expect(await dnfNevras(dnf)).toEqual(['tool-0:1.1-1.x86_64']);
    // The signature is the one pkgpub made when it published to dev: the bytes are dev's.
    const sig = await rpmCheckSig(
      join(work, 'rpmdb'),
      key.publicFile,
      join(repo, 'packages/rpm/tool-1.1-1.x86_64.rpm'),
    );
    expect(sig.code, sig.out).toBe(0);
    expect(sig.out).toMatch(
      new RegExp(`Header V4 EdDSA/SHA\\d+ Signature, key ID ${key.fingerprint.slice(-8).toLowerCase()}: OK`),
    );

    // The tarball: its .asc verifies, SHA256SUMS lists it and is signed.
    const keyring = keyringFor(gpg, key.publicArmored);
    const bin = join(repo, 'packages/bin/x86_64');
    const v = gpgv(
      gpg,
      keyring,
      join(bin, 'falco-0.39.0-x86_64.tar.gz.asc'),
      join(bin, 'falco-0.39.0-x86_64.tar.gz'),
    );
    expect(v.status, v.stderr).toBe(0);
    const sums = await readFile(join(bin, 'SHA256SUMS'), 'utf8');
    expect(sums).toBe(
      `${await sha256Of(join(bin, 'falco-0.39.0-x86_64.tar.gz'))}  falco-0.39.0-x86_64.tar.gz\n`,
    );
    const vs = gpgv(gpg, keyring, join(bin, 'SHA256SUMS.asc'), join(bin, 'SHA256SUMS'));
    expect(vs.status, vs.stderr).toBe(0);
  }, 60_000);

  it('promoting again is a no-op: nothing is written', async () => {
    const before = await tree(repo);
    const res = await promote(repo, 'falco', 'tool=1.1', '--json');
    expect(res.code, res.err).toBe(0);
    const out = JSON.parse(res.out);
    expect(out.plan.puts).toEqual([]);
    expect(out.plan.deletes).toEqual([]);
    expect(out.applied.written).toBe(0);
    expect(out.changes.apt.unchanged.sort()).toEqual(['falco 0.39.0 amd64', 'falco 0.39.0 arm64']);
    expect(await tree(repo)).toEqual(before);
  });

  it('dry-run lists every PUT and DELETE the real run makes, and writes nothing', async () => {
    const before = await tree(repo);
    const dry = await promote(repo, 'tool=1.0', 'falco=0.38.2', '--dry-run');
    expect(dry.code, dry.err).toBe(0);
    expect(await tree(repo)).toEqual(before);
    expect(dry.out).toMatch(
      /^PUT {4}packages\/rpm\/tool-1\.0-1\.x86_64\.rpm {2}\(blob, new, \d+ bytes, copy of packages\/rpm-dev\/tool-1\.0-1\.x86_64\.rpm\)$/m,
    );
    const listed = (verb: string, text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(verb))
        .map((l) => l.slice(7).split('  ')[0])
        .sort();
    const real = await promote(repo, 'tool=1.0', 'falco=0.38.2', '--json');
    expect(real.code, real.err).toBe(0);
    const out = JSON.parse(real.out);
    expect(listed('PUT', dry.out)).toEqual(out.plan.puts.map((p: { key: string }) => p.key).sort());
    expect(listed('DELETE', dry.out)).toEqual([...out.plan.deletes].sort());
    expect(out.plan.puts.length).toBeGreaterThan(10);
    expect(out.applied.written).toBe(out.plan.puts.length);
    expect(out.changes.apt.added).toEqual(['falco 0.38.2 amd64']);
    expect(out.changes.yum.added).toEqual(['tool 1.0-1 x86_64']);
  });

  it('refuses a version stable holds with other bytes, and writes nothing', async () => {
    expect((await publishTo(repo, 'stable', rpm.clashStable!)).code).toBe(0);
    expect((await publishTo(repo, 'dev', rpm['clash-1.0-1.noarch']!)).code).toBe(0);
    const before = await tree(repo);
    const res = await promote(repo, 'clash');
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/clash 1\.0-1 noarch is already published with other contents/);
    expect(await tree(repo)).toEqual(before);

    // A tarball: the same name in both channels' SHA256SUMS with other bytes.
    const dir = await mkdtemp(join(work, 'tarballs-'));
    const name = 'falco-0.39.1-x86_64.tar.gz';
    await mkdir(join(dir, 'dev'));
    await mkdir(join(dir, 'stable'));
    await copyFile(tarball('falco-0.39.0-static-x86_64.tar.gz'), join(dir, 'dev', name));
    await copyFile(tarball('falco-0.39.0-x86_64.tar.gz'), join(dir, 'stable', name));
    expect((await publishTo(repo, 'dev', join(dir, 'dev', name))).code).toBe(0);
    expect((await publishTo(repo, 'stable', join(dir, 'stable', name))).code).toBe(0);
    const beforeTar = await tree(repo);
    const tar = await promote(repo, 'falco=0.39.1');
    expect(tar.code).toBe(1);
    expect(tar.err).toMatch(/x86_64\/falco-0\.39\.1-x86_64\.tar\.gz is already published with other bytes/);
    expect(await tree(repo)).toEqual(beforeTar);
  });

  it('refuses a prerelease unless --allow-prerelease; without a version the newest is taken', async () => {
    expect(
      (await publishTo(repo, 'dev', rpm['tool-2.0-0.rc1.x86_64']!, deb('tildepkg_1.0~rc1-1_arm64.deb'))).code,
    ).toBe(0);
    const before = await tree(repo);
    // The newest tool in dev is 2.0-0.rc1: a prerelease.
    const newest = await promote(repo, 'tool');
    expect(newest.code).toBe(2);
    expect(newest.err).toMatch(
      /tool 2\.0-0\.rc1 \(rpm\) is a prerelease, the newest in dev.*--allow-prerelease/,
    );
    const tilde = await promote(repo, 'tildepkg=1.0~rc1-1');
    expect(tilde.code).toBe(2);
    expect(tilde.err).toMatch(/tildepkg 1\.0~rc1-1 \(deb\) is a prerelease/);
    expect(await tree(repo)).toEqual(before);

    const allowed = await promote(repo, 'tool', 'tildepkg', '--allow-prerelease', '--json');
    expect(allowed.code, allowed.err).toBe(0);
    const out = JSON.parse(allowed.out);
    expect(out.changes.yum.added).toEqual(['tool 2.0-0.rc1 x86_64']);
    expect(out.changes.apt.added).toEqual(['tildepkg 1.0~rc1-1 arm64']);
    const arm64 = await readFile(join(repo, 'packages/deb/dists/stable/main/binary-arm64/Packages'), 'utf8');
    expect(arm64).toMatch(/^Package: tildepkg\n/m);
    expect(arm64).toMatch(/^Version: 1\.0~rc1-1\n/m);
  });

  it('a name or version the source channel does not hold is a clear error', async () => {
    const before = await tree(repo);
    const none = await promote(repo, 'nosuch');
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/error: nosuch is not published in the dev channel/);
    const version = await promote(repo, 'falco=9.9');
    expect(version.code).toBe(2);
    expect(version.err).toMatch(
      /falco=9\.9 is not published in the dev channel \(it has deb 0\.38\.2, deb 0\.39\.0, tarball 0\.39\.0, tarball 0\.39\.1\)/,
    );
    const same = await pkgpub([
      'promote',
      'falco',
      '--to',
      repo,
      '--from-channel',
      'stable',
      '--to-channel',
      'stable',
    ]);
    expect(same.code).toBe(2);
    expect(await tree(repo)).toEqual(before);
  });
});
