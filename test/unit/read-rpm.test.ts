import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { digestsOf } from '../../src/artifacts/checksums.js';
import { readRpm, readRpmHeaders } from '../../src/artifacts/read-rpm.js';
import type { RpmArtifact, RpmDependency } from '../../src/artifacts/types.js';
import { LEAD_SIZE, parseHeader, signaturePadding } from '../../src/formats/rpm-header.js';
import { type DependencyKind, rawDependencies } from '../../src/formats/rpm-package.js';
import {
  type CrEntry,
  type CrPackage,
  createrepo,
  FS,
  RS,
  records,
  rpmDir,
  rpmFixtures,
  rpmQuery,
  scratch,
} from './rpm-fixtures.js';

const files = rpmFixtures();
const artifacts = new Map<string, RpmArtifact>();
let repo: Map<string, CrPackage>;

beforeAll(async () => {
  for (const f of files) artifacts.set(f, await readRpm(f));
  repo = createrepo(files);
});

const fileFor = (name: string) => {
  const f = files.find((p) => basename(p) === name);
  if (!f) throw new Error(`fixture ${name} missing`);
  return f;
};

test('the fixture set has what the other tests rely on', () => {
  const names = files.map((f) => basename(f));
  expect(names).toEqual(
    expect.arrayContaining([
      'falco-0.39.0-1.x86_64.rpm',
      'falco-0.39.0-1.aarch64.rpm',
      'falcoctl-1.0~rc1-2.el9.noarch.rpm',
      'falcoctl-1.0~rc1-2.el9.src.rpm',
      'signed-pkg-1.2.3-1.noarch.rpm',
    ]),
  );
});

const SCALARS = [
  'NAME',
  'EPOCH',
  'VERSION',
  'RELEASE',
  'ARCH',
  'SUMMARY',
  'DESCRIPTION',
  'PACKAGER',
  'URL',
  'LICENSE',
  'VENDOR',
  'GROUP',
  'BUILDHOST',
  'SOURCERPM',
  'BUILDTIME',
  'LONGSIZE',
  'LONGARCHIVESIZE',
  'SOURCEPACKAGE',
] as const;

const none = (v: string) => (v === '(none)' ? '' : v);

describe.each(files.map((f) => [basename(f), f]))('%s', (_name, file) => {
  const a = () => artifacts.get(file)!;

  test('scalar tags match rpm -qp', () => {
    const out = rpmQuery(file, SCALARS.map((t) => `%{${t}}`).join(FS));
    const q = Object.fromEntries(out.split(FS).map((v, i) => [SCALARS[i], v])) as Record<
      (typeof SCALARS)[number],
      string
    >;
    const art = a();
    expect(art.name).toBe(q.NAME);
    expect(art.epoch).toBe(q.EPOCH === '(none)' ? 0 : Number(q.EPOCH));
    expect(art.epochPresent).toBe(q.EPOCH !== '(none)');
    expect(art.version).toBe(q.VERSION);
    expect(art.release).toBe(q.RELEASE);
    expect(art.summary).toBe(none(q.SUMMARY));
    expect(art.description).toBe(none(q.DESCRIPTION));
    expect(art.packager).toBe(none(q.PACKAGER));
    expect(art.url).toBe(none(q.URL));
    expect(art.license).toBe(none(q.LICENSE));
    expect(art.vendor).toBe(none(q.VENDOR));
    expect(art.group).toBe(none(q.GROUP));
    expect(art.buildHost).toBe(none(q.BUILDHOST));
    expect(art.sourceRpm).toBe(none(q.SOURCERPM));
    expect(art.buildTime).toBe(Number(q.BUILDTIME));
    expect(art.installedSize).toBe(Number(q.LONGSIZE));
    expect(art.archiveSize).toBe(Number(q.LONGARCHIVESIZE));
    const source = q.SOURCEPACKAGE !== '(none)';
    expect(art.isSource).toBe(source);
    expect(art.arch).toBe(source ? 'src' : q.ARCH);
    expect(art.nevra).toBe(
      rpmQuery(file, '%{NAME}-%|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}.') + (source ? 'src' : q.ARCH),
    );
  });

  test('size and digests are those of the whole file', () => {
    // repodata needs only the sha256; the reader computes no other digest.
    const d = digestsOf(readFileSync(file));
    expect(a().digests).toEqual({ size: d.size, sha256: d.sha256 });
    expect(a().sha256).toBe(d.sha256);
    expect(a().size).toBe(d.size);
    expect(a().fileName).toBe(basename(file));
    expect(a().path).toBe(file);
  });

  test('a headers-only read says all the same, without the digests', async () => {
    const { sha256, digests, signatureDigest, ...rest } = a();
    expect(sha256).toBeDefined();
    const headers = await readRpmHeaders(file);
    expect(headers).toEqual(rest);
    expect(headers.sha256).toBeUndefined();
    expect(signatureDigest).toBeUndefined();
  });

  const KINDS: [DependencyKind, string][] = [
    ['provides', 'PROVIDE'],
    ['requires', 'REQUIRE'],
    ['conflicts', 'CONFLICT'],
    ['obsoletes', 'OBSOLETE'],
    ['recommends', 'RECOMMEND'],
    ['suggests', 'SUGGEST'],
    ['supplements', 'SUPPLEMENT'],
    ['enhances', 'ENHANCE'],
  ];

  test.each(KINDS)('raw %s match rpm -qp', (kind, tag) => {
    const bytes = readFileSync(file);
    const sig = parseHeader(bytes, LEAD_SIZE);
    const main = parseHeader(bytes, LEAD_SIZE + sig.byteLength + signaturePadding(sig.byteLength));
    const out = rpmQuery(file, `[%{${tag}NAME}${FS}%{${tag}FLAGS}${FS}%{${tag}VERSION}${RS}]`);
    const expected = records(out).map(([name, flags, version]) => ({
      name,
      flags: Number(flags),
      version: version ?? '',
    }));
    expect(rawDependencies(main, kind)).toEqual(expected);
  });

  test('files match rpm -qp (path, flags, mode → type/config)', () => {
    const out = rpmQuery(file, `[%{FILENAMES}${FS}%{FILEFLAGS}${FS}%{FILEMODES}${RS}]`);
    const expected = records(out).map(([path, flags, mode]) => {
      const isDir = (Number(mode) & 0o170000) === 0o040000;
      const ghost = (Number(flags) & 64) !== 0;
      const config = (Number(flags) & 1) !== 0;
      return { path, type: isDir ? 'dir' : ghost ? 'ghost' : 'file', ...(config ? { config } : {}) };
    });
    expect(a().files).toEqual(expected);
  });

  test('changelog matches rpm -qp', () => {
    const out = rpmQuery(file, `[%{CHANGELOGTIME}${FS}%{CHANGELOGNAME}${FS}%{CHANGELOGTEXT}${RS}]`);
    const expected = records(out).map(([date, author, text]) => ({ date: Number(date), author, text }));
    expect(a().changelog).toEqual(expected);
  });

  test('signature state and key id match rpm -qp', () => {
    const out = rpmQuery(
      file,
      ['DSAHEADER', 'RSAHEADER', 'SIGGPG', 'SIGPGP'].map((t) => `%{${t}:pgpsig}`).join(FS),
    );
    const sig = out.split(FS).find((s) => s !== '(none)');
    if (!sig) {
      expect(a().signature).toEqual({ signed: false });
      return;
    }
    const keyId = sig.match(/Key ID ([0-9a-f]{16})/)?.[1];
    expect(keyId).toBeDefined();
    expect(a().signature).toEqual({ signed: true, keyId, algorithm: sig.split(',')[0] });
  });

  test('header range, EVR, sizes and text fields match createrepo_c primary.xml', () => {
    const cr = repo.get(basename(file))!;
    const art = a();
    expect(art.headerRange).toEqual({ start: cr.headerStart, end: cr.headerEnd });
    // The identity across re-signing: the sha256 of exactly the bytes createrepo_c calls the header.
    expect(art.headerSha256).toBe(
      digestsOf(readFileSync(file).subarray(cr.headerStart, cr.headerEnd)).sha256,
    );
    expect([art.name, art.arch, String(art.epoch), art.version, art.release]).toEqual([
      cr.name,
      cr.arch,
      cr.epoch,
      cr.ver,
      cr.rel,
    ]);
    expect(art.sha256).toBe(cr.checksum);
    expect([art.size, art.installedSize, art.archiveSize, art.buildTime]).toEqual([
      cr.sizePackage,
      cr.sizeInstalled,
      cr.sizeArchive,
      cr.timeBuild,
    ]);
    expect({
      summary: art.summary,
      description: art.description,
      packager: art.packager,
      url: art.url,
      license: art.license,
      vendor: art.vendor,
      group: art.group,
      buildhost: art.buildHost,
      sourcerpm: art.sourceRpm,
    }).toEqual({
      summary: cr.summary,
      description: cr.description,
      packager: cr.packager,
      url: cr.url,
      license: cr.license,
      vendor: cr.vendor,
      group: cr.group,
      buildhost: cr.buildhost,
      sourcerpm: cr.sourcerpm,
    });
  });

  test.each(KINDS.map(([k]) => k))('%s equal createrepo_c primary.xml (in order)', (kind) => {
    const cr = repo.get(basename(file))!;
    const ours = a()[kind].map((d: RpmDependency) => {
      const e: CrEntry = { name: d.name };
      if (d.flags) e.flags = d.flags;
      if (d.epoch !== undefined) e.epoch = d.epoch;
      if (d.version !== undefined) e.ver = d.version;
      if (d.release !== undefined) e.rel = d.release;
      if (d.pre) e.pre = '1';
      return e;
    });
    expect(ours).toEqual(cr.deps[kind]);
  });

  test('files equal createrepo_c filelists.xml', () => {
    const cr = repo.get(basename(file))!;
    expect(a().files.map((f) => ({ path: f.path, type: f.type }))).toEqual(cr.files);
  });

  test('changelog equals createrepo_c other.xml (oldest first, author right-trimmed)', () => {
    const cr = repo.get(basename(file))!;
    const ours = [...a().changelog].reverse().map((c) => ({ ...c, author: c.author.replace(/ +$/, '') }));
    expect(ours).toEqual(cr.changelog);
  });
});

test('the everything-package exercises each dependency rule', () => {
  const art = artifacts.get(fileFor('falco-0.39.0-1.x86_64.rpm'))!;
  const names = art.requires.map((r) => r.name);
  // Dropped like createrepo_c does: rpmlib, own primary file, exact own provide, lower libc.
  expect(names.some((n) => n.startsWith('rpmlib('))).toBe(false);
  expect(names).not.toContain('/usr/bin/falco');
  expect(names).not.toContain('falco-api');
  expect(names.filter((n) => n.startsWith('libc.so.6'))).toEqual(['libc.so.6(GLIBC_2.17)(64bit)']);
  // Kept: a non-primary own path, rich deps, versioned deps split into EVR.
  expect(names).toContain('/usr/share/falco/rules.d');
  expect(names).toContain('(libfoo or libbar)');
  expect(art.requires.find((r) => r.name === 'libz')).toEqual({
    name: 'libz',
    flags: 'EQ',
    epoch: '1',
    version: '2.0',
    release: '1',
  });
  expect(art.requires.find((r) => r.name === 'coreutils')?.pre).toBe(true);
  expect(art.files.find((f) => f.path === '/etc/falco/falco.yaml')).toEqual({
    path: '/etc/falco/falco.yaml',
    type: 'file',
    config: true,
  });
  expect(art.files.find((f) => f.path === '/var/log/falco.log')?.type).toBe('ghost');
  expect(art.changelog.length).toBeGreaterThanOrEqual(2);
});

test('the signed fixture carries the exported key id', () => {
  const art = artifacts.get(fileFor('signed-pkg-1.2.3-1.noarch.rpm'))!;
  const home = scratch('gpg-');
  const colons = execFileSync(
    'gpg',
    ['--batch', '--with-colons', '--show-keys', join(rpmDir, 'signing-key.asc')],
    {
      encoding: 'utf8',
      env: { ...process.env, GNUPGHOME: home },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const keyId = colons
    .split('\n')
    .find((l) => l.startsWith('pub:'))!
    .split(':')[4]!
    .toLowerCase();
  expect(art.signature.signed).toBe(true);
  expect(art.signature.keyId).toBe(keyId);
  expect(artifacts.get(fileFor('falco-0.39.0-1.x86_64.rpm'))!.signature.signed).toBe(false);
});
