import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseParagraphs, getField } from '../../src/formats/deb822.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { dnfNevras, makeDnfRoot } from '../support/dnf.js';
import { badSignatures } from '../support/gpg.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { tree } from '../support/tree.js';

const run = promisify(execFile);
const foreign = join(fixturesDir, 'foreign');
const GRACE_S = 2;

let key: TestKey;
let work: string;
let repo: string;
/** What the tree served before adopt, read from the reference tools' own indexes. */
let oldDebs: { name: string; version: string; arch: string; sha256: string }[];
let oldRpms: string[];
let adoptedAt: number;

const dists = () => join(repo, 'packages/deb/dists/stable');
const rpmDir = () => join(repo, 'packages/rpm');

async function files(dir: string): Promise<string[]> {
  return [...(await tree(dir)).keys()].sort();
}

async function adoptCli(...extra: string[]) {
  return adoptAt(repo, ...extra);
}

async function adoptAt(dir: string, ...extra: string[]) {
  return pkgpub([
    'adopt',
    '--to',
    dir,
    '--signing-key',
    key.secretFile,
    '--base-url',
    `file://${dir}`,
    '--gc-grace',
    String(GRACE_S),
    ...extra,
  ]);
}

/** A fresh copy of the foreign tree, times kept (so a listing's times are the fixture's). */
async function foreignCopy(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(join(foreign, 'tree'), dir, { recursive: true, preserveTimestamps: true });
  return dir;
}

/** The NEVRAs dnf prints, from rpm's own reading of the files. */
async function nevras(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of (await readdir(dir)).filter((n) => n.endsWith('.rpm'))) {
    const { stdout } = await run(
      'rpm',
      [
        '-qp',
        '--dbpath',
        join(work, 'qdb'),
        '--nosignature',
        '--nodigest',
        '--qf',
        '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}',
        join(dir, f),
      ],
      { env: { ...process.env, HOME: work } },
    );
    out.push(stdout.trim());
  }
  return out.sort();
}

/** A dnf root trusting pkgpub's key and the key the old rpms were signed with, signatures checked. */
async function dnfRoot(keys: string[]) {
  return makeDnfRoot({
    repoFile: [
      '[adopted]',
      'name=adopted',
      `baseurl=file://${rpmDir()}`,
      'gpgcheck=1',
      'repo_gpgcheck=1',
      `gpgkey=${keys.map((k) => `file://${k}`).join(' ')}`,
      '',
    ].join('\n'),
  });
}

beforeAll(async () => {
  key = await makeTestKey();
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'adopt-e2e-'));
  repo = join(work, 'public');
  await cp(join(foreign, 'tree'), repo, { recursive: true, preserveTimestamps: true });
  oldDebs = [];
  for (const arch of ['amd64', 'arm64']) {
    const text = await readFile(join(dists(), `main/binary-${arch}/Packages`), 'utf8');
    for (const p of parseParagraphs(text))
      oldDebs.push({
        name: getField(p, 'Package')!,
        version: getField(p, 'Version')!,
        arch: getField(p, 'Architecture')!,
        sha256: getField(p, 'SHA256')!,
      });
  }
  oldRpms = await nevras(rpmDir());
});

describe('pkgpub adopt on a tree made by apt-ftparchive, createrepo_c, gpg and rpmsign', () => {
  it('the fixture is in the old shape: bz2 indexes, sqlite repodata, flat drivers, no pkgpub files', async () => {
    const all = await files(repo);
    expect(all).toContain('packages/deb/dists/stable/main/binary-amd64/Packages.bz2');
    expect(all.some((f) => /repodata\/.*primary\.sqlite/.test(f))).toBe(true);
    expect(all).toContain('driver/2.0.0+driver/falco_debian_5.10.0-8-amd64_1.ko');
    expect(all.filter((f) => f.startsWith('driver/site/') || f.endsWith('listing.json'))).toEqual([]);
    expect(oldDebs.length).toBeGreaterThanOrEqual(5);
    expect(oldRpms).toHaveLength(3);
  });

  it('--dry-run plans the takeover and writes nothing', async () => {
    const before = await tree(repo);
    const res = await adoptCli('--dry-run');
    expect(res.code, res.err).toBe(0);
    expect(res.out).toMatch(/PUT {4}packages\/deb\/dists\/stable\/InRelease/);
    expect(res.out).toMatch(/PUT {4}driver\/site\/index\.json/);
    expect(res.out).toContain('garbage: packages/deb/dists/stable/main/binary-amd64/Packages.bz2');
    // site rebuild writes listings only, and says who indexes the drivers.
    const rebuild = await pkgpub(['site', 'rebuild', '--to', repo, '--dry-run']);
    expect(rebuild.code, rebuild.err).toBe(0);
    expect(rebuild.err).toMatch(
      /driver files of 3 driver version\(s\) are in no driver index.*run `pkgpub adopt`/,
    );
    expect(await tree(repo)).toEqual(before);
  });

  it('adopts: indexes rewritten and re-signed, old forms in the pending garbage, every folder listed', async () => {
    const res = await adoptCli('--json');
    adoptedAt = Date.now();
    expect(res.code, res.err).toBe(0);
    const report = JSON.parse(res.out) as { report: { retired: string[]; apt: { packages: number } } };
    expect(report.report.apt.packages).toBe(oldDebs.length);
    const release = await readFile(join(dists(), 'Release'), 'utf8');
    expect(release).toContain('main/binary-amd64/Packages.xz');
    expect(release).not.toContain('.bz2');
    expect(release).not.toContain('Contents-');
    expect(
      await badSignatures(work, key.publicFile, repo, ['packages/deb/dists/stable/Release.gpg']),
    ).toEqual([]);
    expect(await badSignatures(work, key.publicFile, repo, ['packages/rpm/repodata/repomd.xml.asc'])).toEqual(
      [],
    );
    const pending = JSON.parse(await readFile(join(repo, '.pkgpub-garbage.json'), 'utf8')) as {
      pending: { key: string }[];
    };
    const keys = pending.pending.map((p) => p.key);
    for (const arch of ['amd64', 'arm64']) {
      expect(keys).toContain(`packages/deb/dists/stable/main/binary-${arch}/Packages.bz2`);
      expect(keys).toContain(`packages/deb/dists/stable/main/binary-${arch}/Release`);
      expect(keys).toContain(`packages/deb/dists/stable/main/Contents-${arch}.gz`);
    }
    expect(keys.some((k) => /^packages\/rpm\/repodata\/[0-9a-f]+-primary\.sqlite/.test(k))).toBe(true);
    // Within the grace the retired files are still served.
    await stat(join(dists(), 'main/binary-amd64/Packages.bz2'));
    // The takeover is a generation of the channel, after the state the other tools left.
    const history = JSON.parse(await readFile(join(repo, '.pkgpub-history/stable.json'), 'utf8')) as {
      entries: { command: string; summary: Record<string, { added: string[] }> }[];
    };
    expect(history.entries.map((e) => e.command)).toEqual(['baseline', 'adopt']);
    expect(history.entries[1]!.summary.bin?.added.sort()).toEqual([
      'aarch64/falco-0.39.0-aarch64.tar.gz',
      'x86_64/falco-0.39.0-x86_64.tar.gz',
    ]);
    // Every folder of the tree has a listing.
    const folders = new Set<string>(['']);
    for (const f of await files(repo)) {
      const parts = f.split('/');
      for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
    }
    const unlisted: string[] = [];
    for (const d of folders) {
      if (d.startsWith('_site') || d.split('/').some((p) => p.startsWith('.'))) continue;
      await stat(join(repo, d, 'listing.json')).catch(() => unlisted.push(d || '(root)'));
    }
    expect(unlisted).toEqual([]);
  });

  it('adopting again changes nothing', async () => {
    const before = await tree(repo);
    const res = await adoptCli();
    expect(res.code, res.err).toBe(0);
    expect(res.out).toContain("already pkgpub's: nothing to change");
    expect(await tree(repo)).toEqual(before);
    const rebuild = await pkgpub(['site', 'rebuild', '--to', repo, '--dry-run']);
    expect(rebuild.code, rebuild.err).toBe(0);
    expect(rebuild.err).not.toContain('pkgpub adopt');
  });

  it('tarball folders get a SHA256SUMS that sha256sum accepts, signed with the key', async () => {
    for (const arch of ['x86_64', 'aarch64']) {
      const dir = join(repo, 'packages/bin', arch);
      const sums = await readFile(join(dir, 'SHA256SUMS'), 'utf8');
      const name = `falco-0.39.0-${arch}.tar.gz`;
      const sha = createHash('sha256')
        .update(await readFile(join(dir, name)))
        .digest('hex');
      expect(sums).toBe(`${sha}  ${name}\n`);
      const check = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir });
      expect(check.stdout).toContain(`${name}: OK`);
      expect(await badSignatures(work, key.publicFile, dir, ['SHA256SUMS.asc'])).toEqual([]);
    }
  });

  it('the driver index lists every driver file, in both shapes, with its download', async () => {
    const onDisk = (await files(join(repo, 'driver'))).filter((f) => /\.(ko|o)$/.test(f));
    const versions = JSON.parse(await readFile(join(repo, 'driver/site/index.json'), 'utf8')) as string[];
    expect(versions).toEqual(['7.0.0+driver', '2.0.0+driver', '17f5df52a7d9ed6bb12d3b1768460def8439936d']);
    const indexed = new Map<string, { arch: string; download: string; sizebytes: number; sha256: string }>();
    for (const v of versions) {
      const doc = JSON.parse(await readFile(join(repo, 'driver/site', `${v}.json`), 'utf8')) as {
        drivers: {
          lib: string;
          arch: string;
          name: string;
          download: string;
          sizebytes: number;
          sha256: string;
        }[];
      };
      for (const d of doc.drivers) {
        expect(d.lib).toBe(v);
        const where = decodeURIComponent(d.download.slice(`file://${repo}/driver/`.length));
        indexed.set(where, d);
      }
    }
    // One entry per file, except a flat file whose twin sits in x86_64/: the arch folder's is indexed.
    const twins = onDisk.filter((f) => {
      const p = f.split('/');
      return p.length === 2 && onDisk.includes(`${p[0]}/x86_64/${p[1]}`);
    });
    expect(twins).toEqual(['2.0.0+driver/falco_debian_5.10.0-8-amd64_1.ko']);
    expect([...indexed.keys()].sort()).toEqual(onDisk.filter((f) => !twins.includes(f)));
    for (const [where, d] of indexed) {
      const flat = where.split('/').length === 2;
      expect(d.arch, where).toBe(flat ? 'x86_64' : where.split('/')[1]);
      expect(d.sizebytes).toBe((await stat(join(repo, 'driver', where))).size);
      // Built from a listing: no driver was read.
      expect(d.sha256).toBe('');
    }
  });

  it('real apt, trusting only pkgpub key, sees and downloads every deb the old tree served', async () => {
    for (const arch of ['amd64', 'arm64']) {
      const apt = await makeAptRoot(
        `deb [signed-by=${key.publicFile}] file:${repo}/packages/deb stable main`,
        arch,
      );
      const up = await apt.apt('apt-get', ['update']);
      expect(up.code, up.out).toBe(0);
      expect(aptProblems(up.out)).toEqual([]);
      for (const d of oldDebs.filter((x) => x.arch === arch || x.arch === 'all')) {
        const dl = await apt.apt('apt-get', ['download', `${d.name}=${d.version}`]);
        expect(dl.code, dl.out).toBe(0);
        const got = (await readdir(join(apt.dir, 'dl'))).find((f) => f.startsWith(`${d.name}_`));
        expect(got, dl.out).toBeDefined();
        const bytes = await readFile(join(apt.dir, 'dl', got!));
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(d.sha256);
        await run('rm', [join(apt.dir, 'dl', got!)]);
      }
    }
  });

  it('real dnf installs every rpm the old tree served (repo and package signatures checked)', async () => {
    // The rpms keep the old key's signatures; repomd.xml is pkgpub's: both keys are trusted.
    const dnf = await dnfRoot([key.publicFile, join(foreign, 'old-key.asc')]);
    expect(await dnfNevras(dnf)).toEqual(oldRpms);
    const res = await dnf.dnf(['install', 'oldtool', 'oldtool-data', 'signed-pkg']);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toMatch(/Complete!/);
    expect(await readFile(join(dnf.dir, 'root/opt/oldtool/data'), 'utf8')).toBe('oldtool-data 1.0\n');
    // The old key alone no longer vouches for the repository metadata: it was re-signed.
    const oldOnly = await dnfRoot([join(foreign, 'old-key.asc')]);
    expect((await oldOnly.dnf(['makecache'])).code).not.toBe(0);
  });

  it('a later publish of a deb and an rpm works; apt and dnf see old and new; the retired files are gone after the grace', async () => {
    const wait = adoptedAt + GRACE_S * 1000 + 200 - Date.now();
    if (wait > 0) await sleep(wait);
    const [newRpm] = await buildRpms(join(work, 'new-rpm'), [
      { name: 'newtool', version: '3.0', arch: 'x86_64' },
    ]);
    const newDeb = join(fixturesDir, 'deb/epochpkg_2.0-1_amd64.deb');
    const res = await pkgpub([
      'publish',
      newDeb,
      newRpm!,
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
      '--base-url',
      `file://${repo}`,
      '--gc-grace',
      String(GRACE_S),
    ]);
    expect(res.code, res.err).toBe(0);
    await expect(stat(join(dists(), 'main/binary-amd64/Packages.bz2'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(dists(), 'main/Contents-amd64.gz'))).rejects.toThrow(/ENOENT/);
    const history = JSON.parse(await readFile(join(repo, '.pkgpub-history/stable.json'), 'utf8')) as {
      entries: { command: string; corrected?: string[] }[];
    };
    // The adopt's generation is what the tree served: the publish found nothing to correct.
    expect(history.entries.map((e) => [e.command, e.corrected])).toEqual([
      ['baseline', undefined],
      ['adopt', undefined],
      ['publish', undefined],
    ]);
    const garbage = await readFile(join(repo, '.pkgpub-garbage.json'), 'utf8');
    expect(garbage).not.toContain('Packages.bz2');
    // The repodata folder's listing is the listing's, not garbage of the yum publish.
    expect(garbage).not.toContain('repodata/index.html');
    await stat(join(rpmDir(), 'repodata/listing.json'));

    const apt = await makeAptRoot(`deb [signed-by=${key.publicFile}] file:${repo}/packages/deb stable main`);
    const up = await apt.apt('apt-get', ['update']);
    expect(up.code, up.out).toBe(0);
    expect(aptProblems(up.out)).toEqual([]);
    expect(await aptVersions(apt, 'epochpkg')).toEqual(['1:2.0-1']);
    expect((await aptVersions(apt, 'falco')).sort()).toEqual(['0.38.2', '0.39.0']);

    const dnf = await dnfRoot([key.publicFile, join(foreign, 'old-key.asc')]);
    expect(await dnfNevras(dnf)).toEqual([...oldRpms, 'newtool-0:3.0-1.x86_64'].sort());
    const inst = await dnf.dnf(['install', 'newtool', 'oldtool']);
    expect(inst.code, inst.out).toBe(0);
    expect(await readFile(join(dnf.dir, 'root/opt/newtool/payload'), 'utf8')).toBe('newtool 3.0\n');
  });
});

describe('pkgpub adopt --hash and --channel dev', () => {
  it('--hash: every driver index entry carries the sha256 of its file', async () => {
    const dir = await foreignCopy('hash');
    const res = await adoptAt(dir, '--hash', '--json');
    expect(res.code, res.err).toBe(0);
    const report = JSON.parse(res.out) as { report: { drivers: { hashed: number } } };
    const versions = JSON.parse(await readFile(join(dir, 'driver/site/index.json'), 'utf8')) as string[];
    let entries = 0;
    for (const v of versions) {
      const doc = JSON.parse(await readFile(join(dir, 'driver/site', `${v}.json`), 'utf8')) as {
        drivers: { download: string; sha256: string }[];
      };
      for (const d of doc.drivers) {
        entries++;
        const file = join(
          dir,
          'driver',
          decodeURIComponent(d.download.slice(`file://${dir}/driver/`.length)),
        );
        expect(d.sha256, file).toBe(
          createHash('sha256')
            .update(await readFile(file))
            .digest('hex'),
        );
      }
    }
    // The flat twin of an arch-folder file is not indexed, so it is not read either.
    expect(entries).toBe(9);
    expect(report.report.drivers.hashed).toBe(entries);
  });

  it('--channel dev: the dev tree is taken over and served; a later publish --channel dev lands on it and apt reads both', async () => {
    const dir = await foreignCopy('dev');
    // The same foreign repositories where the dev channel lives.
    for (const kind of ['deb', 'rpm', 'bin'])
      await rename(join(dir, 'packages', kind), join(dir, 'packages', `${kind}-dev`));
    const res = await adoptAt(dir, '--channel', 'dev', '--json');
    expect(res.code, res.err).toBe(0);
    const report = JSON.parse(res.out) as { report: { apt: { packages: number; own: boolean } } };
    expect(report.report.apt.packages).toBe(oldDebs.length);
    expect(report.report.apt.own).toBe(false);
    expect(await readFile(join(dir, 'packages/bin-dev/x86_64/SHA256SUMS'), 'utf8')).toContain(
      'falco-0.39.0-x86_64.tar.gz',
    );
    // Nothing was made for the stable channel, which this tree does not have.
    await expect(stat(join(dir, 'packages/deb'))).rejects.toThrow(/ENOENT/);
    expect((await adoptAt(dir, '--channel', 'dev')).out).toContain("already pkgpub's: nothing to change");

    const pub = await pkgpub([
      'publish',
      join(fixturesDir, 'deb/epochpkg_2.0-1_amd64.deb'),
      '--channel',
      'dev',
      '--to',
      dir,
      '--signing-key',
      key.secretFile,
      '--base-url',
      `file://${dir}`,
    ]);
    expect(pub.code, pub.err).toBe(0);
    const apt = await makeAptRoot(
      `deb [signed-by=${key.publicFile}] file:${dir}/packages/deb-dev stable main`,
    );
    const up = await apt.apt('apt-get', ['update']);
    expect(up.code, up.out).toBe(0);
    expect(aptProblems(up.out)).toEqual([]);
    expect((await aptVersions(apt, 'falco')).sort()).toEqual(['0.38.2', '0.39.0']);
    expect(await aptVersions(apt, 'epochpkg')).toEqual(['1:2.0-1']);
    for (const spec of ['falco=0.38.2', 'epochpkg=1:2.0-1']) {
      const dl = await apt.apt('apt-get', ['download', spec]);
      expect(dl.code, dl.out).toBe(0);
    }
  });
});
