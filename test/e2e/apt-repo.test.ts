import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { parseParagraphs, getField } from '../../src/formats/deb822.js';
import { createStaticServer } from '../../src/serve/static-server.js';
import { aptProblems, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { badSignatures } from '../support/gpg.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

const run = promisify(execFile);

let key: TestKey;
let otherKey: TestKey;
let debs: string[];
let work: string;
let repo: string;

async function fixtureDebs(): Promise<string[]> {
  const dir = join(fixturesDir, 'deb');
  return (await readdir(dir))
    .filter((f) => f.endsWith('.deb'))
    .sort()
    .map((f) => join(dir, f));
}

async function controlOf(deb: string) {
  const { stdout } = await run('dpkg-deb', ['-f', deb]);
  const p = parseParagraphs(stdout)[0]!;
  return {
    name: getField(p, 'Package')!,
    version: getField(p, 'Version')!,
    arch: getField(p, 'Architecture')!,
  };
}

function sourcesLine(url: string, keyFile: string) {
  return `deb [signed-by=${keyFile}] ${url} stable main`;
}

beforeAll(async () => {
  key = await makeTestKey();
  otherKey = await makeTestKey();
  debs = await fixtureDebs();
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'apt-e2e-'));
  repo = join(work, 'public');
  const res = await pkgpub(['publish', ...debs, '--to', repo, '--signing-key', key.secretFile]);
  expect(res.code, res.err).toBe(0);
});

describe('a published apt repository, judged by real apt', () => {
  it('every .deb.asc verifies with gpgv against the published key; a changed deb does not', async () => {
    const pool = join(repo, 'packages/deb/stable');
    const published = (await readdir(pool)).filter((f) => f.endsWith('.deb'));
    expect(published.length).toBe(debs.length);
    expect(
      await badSignatures(
        work,
        key.publicFile,
        pool,
        published.map((f) => `${f}.asc`),
      ),
    ).toEqual([]);
    // The same signature beside a deb with one bit changed is refused.
    const changedDir = join(work, 'changed');
    await mkdir(changedDir, { recursive: true });
    const bytes = await readFile(join(pool, published[0]!));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(join(changedDir, published[0]!), bytes);
    await writeFile(
      join(changedDir, `${published[0]}.asc`),
      await readFile(join(pool, `${published[0]}.asc`)),
    );
    expect(await badSignatures(work, key.publicFile, changedDir, [`${published[0]}.asc`])).toHaveLength(1);
  });

  it('updates over file: with no warning, shows every fixture, downloads each with a matching hash', async () => {
    for (const arch of ['amd64', 'arm64']) {
      const apt = await makeAptRoot(
        sourcesLine(`file:${repo}/packages/deb`, join(repo, 'keys/falco-packages.asc')),
        arch,
      );
      const up = await apt.apt('apt-get', ['update']);
      expect(up.code, up.out).toBe(0);
      expect(aptProblems(up.out)).toEqual([]);
      for (const deb of debs) {
        const c = await controlOf(deb);
        if (c.arch !== arch && c.arch !== 'all') continue;
        const show = await apt.apt('apt-cache', ['show', `${c.name}=${c.version}`]);
        expect(show.code, show.out).toBe(0);
        expect(show.out).toContain(`Version: ${c.version}`);
        const dl = await apt.apt('apt-get', ['download', `${c.name}=${c.version}`]);
        expect(dl.code, dl.out).toBe(0);
        const got = (await readdir(join(apt.dir, 'dl'))).find(
          (f) => f.startsWith(`${c.name}_`) && f.includes(c.arch),
        );
        expect(got).toBeDefined();
        const original = await readFile(deb);
        const downloaded = await readFile(join(apt.dir, 'dl', got!));
        expect(createHash('sha256').update(downloaded).digest('hex')).toBe(
          createHash('sha256').update(original).digest('hex'),
        );
        await rm(join(apt.dir, 'dl', got!));
      }
    }
  });

  it('updates over http from pkgpub serve and fetches indexes by hash', async () => {
    const server = createStaticServer(repo);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const apt = await makeAptRoot(
        sourcesLine(`http://127.0.0.1:${port}/packages/deb`, join(repo, 'keys/falco-packages.asc')),
      );
      const up = await apt.apt('apt-get', ['update'], ['Debug::Acquire::http=1']);
      expect(up.code, up.out).toBe(0);
      expect(aptProblems(up.out)).toEqual([]);
      expect(up.out).toMatch(
        /GET \/packages\/deb\/dists\/stable\/main\/binary-amd64\/by-hash\/SHA512\/[0-9a-f]{128} HTTP/,
      );
      const dl = await apt.apt('apt-get', ['download', 'falco=0.39.0']);
      expect(dl.code, dl.out).toBe(0);
    } finally {
      server.close();
    }
  });

  it('Packages stanzas equal apt-ftparchive output on the same debs, field by field', async () => {
    const dir = await mkdtemp(join(work, 'ftp-'));
    await mkdir(join(dir, 'stable'));
    for (const d of debs) await cp(d, join(dir, 'stable', d.split('/').pop()!));
    const { stdout } = await run('apt-ftparchive', ['packages', 'stable'], { cwd: dir, maxBuffer: 1 << 26 });
    const theirs = parseParagraphs(stdout);
    const ours = [
      ...parseParagraphs(
        await readFile(join(repo, 'packages/deb/dists/stable/main/binary-amd64/Packages'), 'utf8'),
      ),
      ...parseParagraphs(
        await readFile(join(repo, 'packages/deb/dists/stable/main/binary-arm64/Packages'), 'utf8'),
      ),
    ];
    const keyOf = (p: (typeof ours)[number]) =>
      `${getField(p, 'Package')} ${getField(p, 'Version')} ${getField(p, 'Architecture')}`;
    const ourByKey = new Map(ours.map((p) => [keyOf(p), p]));
    expect(theirs.length).toBe(debs.length);
    for (const t of theirs) {
      const o = ourByKey.get(keyOf(t));
      expect(o, keyOf(t)).toBeDefined();
      expect(o!.map((f) => f.name)).toEqual(t.map((f) => f.name));
      expect(o!.map((f) => f.value)).toEqual(t.map((f) => f.value));
    }
  });

  it('gpgv verifies InRelease and Release.gpg', async () => {
    const dists = join(repo, 'packages/deb/dists/stable');
    const ring = join(work, 'ring.gpg');
    await run('gpg', ['--batch', '--yes', '--dearmor', '-o', ring, key.publicFile]);
    await run('gpgv', ['--keyring', ring, join(dists, 'InRelease')]);
    await run('gpgv', ['--keyring', ring, join(dists, 'Release.gpg'), join(dists, 'Release')]);
    const release = await readFile(join(dists, 'Release'), 'utf8');
    expect(release).toMatch(/^Acquire-By-Hash: yes$/m);
    expect(release).toMatch(/^SHA512:$/m);
    await expect(
      run('gpgv', ['--keyring', ring, join(dists, 'Release.gpg'), join(dists, 'InRelease')]),
    ).rejects.toThrow();
  });

  it('apt fails on a tampered InRelease, a tampered Packages and a wrong key (fresh state each time)', async () => {
    const copy = async () => {
      const d = await mkdtemp(join(work, 'tamper-'));
      await cp(repo, d, { recursive: true });
      return d;
    };
    // Changing a field (not whitespace) breaks the clearsigned text.
    const t1 = await copy();
    const inrel = join(t1, 'packages/deb/dists/stable/InRelease');
    await writeFile(inrel, (await readFile(inrel, 'utf8')).replace('Suite: stable', 'Suite: stablf'));
    await rm(join(t1, 'packages/deb/dists/stable/Release.gpg'));
    let apt = await makeAptRoot(
      sourcesLine(`file:${t1}/packages/deb`, join(repo, 'keys/falco-packages.asc')),
    );
    let up = await apt.apt('apt-get', ['update']);
    expect(aptProblems(up.out).join('\n')).toMatch(/BADSIG/);

    const t2 = await copy();
    for (const n of ['Packages', 'Packages.gz', 'Packages.xz']) {
      const p = join(t2, 'packages/deb/dists/stable/main/binary-amd64', n);
      if (n === 'Packages')
        await writeFile(p, (await readFile(p, 'utf8')).replace('Package: falco', 'Package: evil'));
      else await rm(p);
    }
    await rm(join(t2, 'packages/deb/dists/stable/main/binary-amd64/by-hash'), { recursive: true });
    apt = await makeAptRoot(sourcesLine(`file:${t2}/packages/deb`, join(repo, 'keys/falco-packages.asc')));
    up = await apt.apt('apt-get', ['update']);
    expect(up.out).toMatch(/Hash Sum mismatch/);
    expect((await apt.apt('apt-cache', ['show', 'evil'])).code).not.toBe(0);

    apt = await makeAptRoot(sourcesLine(`file:${repo}/packages/deb`, otherKey.publicFile));
    up = await apt.apt('apt-get', ['update']);
    expect(aptProblems(up.out).join('\n')).toMatch(/NO_PUBKEY/);
    expect((await apt.apt('apt-cache', ['show', 'falco'])).code).not.toBe(0);
  });
});
