import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRpm } from '../../src/artifacts/read-rpm.js';
import { pkgpub } from '../support/cli.js';
import { dnfNevras, makeDnfRoot, rpmCheckSig, rpmdbKeyIds } from '../support/dnf.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { packagesOf, readRepodata, rpmFiles } from '../support/repodata.js';

const run = promisify(execFile);

let key: TestKey;
let otherKey: TestKey;
let inputs: string[];
let work: string;
let repo: string;
let rpmDir: string;

async function rpmQuery(file: string, qf: string): Promise<string> {
  const { stdout } = await run(
    'rpm',
    ['-qp', '--dbpath', join(work, 'qdb'), '--nosignature', '--nodigest', '--qf', qf, file],
    {
      env: { ...process.env, HOME: work },
    },
  );
  return stdout;
}

/** NEVRA as dnf prints it; source rpms are arch "src" in repodata whatever ARCH says. */
async function nevraOf(file: string): Promise<string> {
  const [nevr, arch] = (
    await rpmQuery(file, '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}')
  ).split(' ');
  return file.endsWith('.src.rpm') ? `${nevr}.src` : `${nevr}.${arch}`;
}

/** Payload bytes: everything after the main header (header-range end as rpm's own tags tell). */
async function payloadSha(file: string): Promise<string> {
  const { stdout } = await run(
    'rpm',
    ['-qp', '--dbpath', join(work, 'qdb'), '--nosignature', '--nodigest', '--qf', '%{PAYLOADDIGEST}', file],
    {
      env: { ...process.env, HOME: work },
    },
  );
  return stdout.trim();
}

beforeAll(async () => {
  key = await makeTestKey();
  otherKey = await makeTestKey();
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'yum-e2e-'));
  const built = await buildRpms(join(work, 'built'), [
    { name: 'hello', version: '1.0', arch: 'x86_64' },
    { name: 'hello', version: '1.0', arch: 'aarch64' },
    { name: 'hello-data', version: '2.1', release: '3', arch: 'noarch' },
  ]);
  inputs = [...(await rpmFiles(join(fixturesDir, 'rpm'))), ...built];
  repo = join(work, 'public');
  rpmDir = join(repo, 'packages/rpm');
  const res = await pkgpub([
    'publish',
    ...inputs,
    '--to',
    repo,
    '--signing-key',
    key.secretFile,
    '--resign',
    '--base-url',
    `file://${repo}`,
  ]);
  expect(res.code, res.err).toBe(0);
});

describe('a published yum repository, judged by real dnf and rpm', () => {
  it('refuses an rpm signed by another key unless --resign', async () => {
    const signed = join(fixturesDir, 'rpm', 'signed-pkg-1.2.3-1.noarch.rpm');
    const res = await pkgpub([
      'publish',
      signed,
      '--to',
      join(work, 'refused'),
      '--signing-key',
      key.secretFile,
    ]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/already signed by key [0-9a-f]{16}.*--resign/);
  });

  it('dnf makecache and repoquery with gpgcheck and repo_gpgcheck through the published .repo file list every NEVRA', async () => {
    const repoFile = await readFile(join(rpmDir, 'falco.repo'), 'utf8');
    expect(repoFile).toMatch(/^gpgcheck=1$/m);
    expect(repoFile).toMatch(/^repo_gpgcheck=1$/m);
    expect(repoFile).toContain(`gpgkey=file://${repo}/keys/falco-packages.asc`);
    const want = (await Promise.all(inputs.map(nevraOf))).sort();
    for (const arch of ['x86_64', 'aarch64']) {
      const dnf = await makeDnfRoot({ repoFile });
      const mc = await dnf.dnf(['makecache'], arch);
      expect(mc.code, mc.out).toBe(0);
      expect(mc.out).toMatch(/Metadata cache created/);
      expect(await dnfNevras(dnf, arch)).toEqual(want);
    }
  });

  it('dnf installs the signed packages of each arch into a private root (gpgcheck=1)', async () => {
    for (const arch of ['x86_64', 'aarch64']) {
      const dnf = await makeDnfRoot({
        baseurl: `file://${rpmDir}`,
        gpgkey: join(repo, 'keys/falco-packages.asc'),
      });
      const res = await dnf.dnf(['install', `hello.${arch}`, 'hello-data'], arch);
      expect(res.code, res.out).toBe(0);
      expect(res.out).toMatch(/Complete!/);
      expect(await readFile(join(dnf.dir, 'root/opt/hello/payload'), 'utf8')).toBe('hello 1.0\n');
      expect(await readFile(join(dnf.dir, 'root/opt/hello-data/payload'), 'utf8')).toBe('hello-data 2.1\n');
    }
  });

  it('every published rpm carries a header signature rpmkeys accepts, and its payload is unchanged', async () => {
    const published = await rpmFiles(rpmDir);
    expect(published.length).toBe(inputs.length);
    expect(published.length).toBeGreaterThanOrEqual(3);
    const db = join(work, 'rpmdb-good');
    const wrongDb = join(work, 'rpmdb-wrong');
    const keyId = key.fingerprint.slice(-8).toLowerCase();
    for (const f of published) {
      const ok = await rpmCheckSig(db, join(repo, 'keys/falco-packages.asc'), f);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out, f).toMatch(new RegExp(`Header V4 EdDSA/SHA\\d+ Signature, key ID ${keyId}: OK`));
      // The other key is imported (rpmCheckSig throws otherwise), so NOKEY is the signature's doing.
      const wrong = await rpmCheckSig(wrongDb, otherKey.publicFile, f);
      expect(wrong.code, wrong.out).not.toBe(0);
      expect(wrong.out, f).toMatch(new RegExp(`Signature, key ID ${keyId}: NOKEY`));
      const input = inputs.find((i) => i.endsWith(`/${f.split('/').pop()}`))!;
      expect(await payloadSha(f)).toBe(await payloadSha(input));
      // Main header and payload are the input's bytes, untouched (only the signature header changed).
      const [a, b] = [await readFile(f), await readFile(input)];
      const rest = b.length - (await readRpm(input)).headerRange.start;
      const tail = (buf: Buffer) =>
        createHash('sha256')
          .update(buf.subarray(buf.length - rest))
          .digest('hex');
      expect(tail(a)).toBe(tail(b));
      expect(a.length).toBe(b.length);
    }
    // Each database holds exactly the key it was given: the wrong-key check had a key, just not ours.
    expect(await rpmdbKeyIds(db)).toEqual([keyId]);
    expect(await rpmdbKeyIds(wrongDb)).toEqual([otherKey.fingerprint.slice(-8).toLowerCase()]);
  });

  it('primary, filelists and other equal createrepo_c output for the same signed rpms, field by field', async () => {
    const copy = join(work, 'createrepo');
    await mkdir(copy);
    for (const f of await rpmFiles(rpmDir)) await cp(f, join(copy, f.split('/').pop()!));
    await run('createrepo_c', ['-q', '--no-database', copy]);
    const theirs = await readRepodata(copy);
    const ours = await readRepodata(rpmDir);
    for (const type of ['primary', 'filelists', 'other'] as const) {
      const t = packagesOf(theirs[type]);
      const o = packagesOf(ours[type]);
      expect(t.size, type).toBe(inputs.length);
      expect([...o.keys()].sort(), type).toEqual([...t.keys()].sort());
      for (const [id, pkg] of t) {
        const mine = o.get(id)!;
        expect(mine.fields, `${type} ${id}`).toEqual(pkg.fields);
        expect(mine.deps, `${type} ${id}`).toEqual(pkg.deps);
      }
    }
  });

  it('repomd.xml.asc verifies with gpgv and the .asc of every rpm too', async () => {
    const ring = join(work, 'ring.gpg');
    await run('gpg', ['--batch', '--yes', '--homedir', work, '--dearmor', '-o', ring, key.publicFile]);
    await run('gpgv', [
      '--homedir',
      work,
      '--keyring',
      ring,
      join(rpmDir, 'repodata/repomd.xml.asc'),
      join(rpmDir, 'repodata/repomd.xml'),
    ]);
    for (const f of await rpmFiles(rpmDir))
      await run('gpgv', ['--homedir', work, '--keyring', ring, `${f}.asc`, f]);
  });

  it('dnf refuses a tampered repomd.xml, a missing repomd.xml.asc, a wrong key and a corrupted primary', async () => {
    const copy = async () => {
      const d = await mkdtemp(join(work, 'tamper-'));
      await cp(repo, d, { recursive: true });
      return d;
    };
    const attempt = async (root: string, keyFile = join(repo, 'keys/falco-packages.asc')) => {
      const dnf = await makeDnfRoot({ baseurl: `file://${root}/packages/rpm`, gpgkey: keyFile });
      return dnf.dnf(['makecache']);
    };
    const t1 = await copy();
    const repomd = join(t1, 'packages/rpm/repodata/repomd.xml');
    await writeFile(
      repomd,
      (await readFile(repomd, 'utf8')).replace(/<revision>(\d+)</, (_m, r) => `<revision>${Number(r) + 1}<`),
    );
    let res = await attempt(t1);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/GPG signature verification error|Bad GPG signature/);

    const t2 = await copy();
    await rm(join(t2, 'packages/rpm/repodata/repomd.xml.asc'));
    res = await attempt(t2);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/repomd\.xml\.asc|GPG/);

    res = await attempt(repo, otherKey.publicFile);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/GPG/);

    const t3 = await copy();
    const dir = join(t3, 'packages/rpm/repodata');
    const primary = (await readdir(dir)).find((f) => f.endsWith('-primary.xml.gz'))!;
    const text = (await readRepodata(join(t3, 'packages/rpm'))).primary.replace(
      '<name>hello</name>',
      '<name>evil</name>',
    );
    await writeFile(join(dir, primary), gzipSync(text));
    res = await attempt(t3);
    expect(res.code).not.toBe(0);
    expect(res.out).toMatch(/checksum|Checksum|mismatch/i);

    // The untouched repository still passes with a fresh root: the failures above are the tampering.
    expect((await attempt(repo)).code).toBe(0);
  });
});
