import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTarballName, readTarball } from '../../src/artifacts/read-tarball.js';
import { ArtifactError } from '../../src/errors.js';
import { fixturesDir, samplesDir, scratchRoot } from '../support/paths.js';

const binDir = join(fixturesDir, 'bin');
const badDir = join(fixturesDir, 'bad');
let scratch: string;

beforeAll(() => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'read-tarball-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function digestOf(algo: string, data: Buffer): string {
  return createHash(algo).update(data).digest('hex');
}

/** Rejects with an ArtifactError for `path` whose reason matches `reason`. */
async function expectRefused(path: string, reason: RegExp): Promise<ArtifactError> {
  const err = await readTarball(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${path} should be refused`).toBeInstanceOf(ArtifactError);
  const ae = err as ArtifactError;
  expect(ae.code).toBe('artifact');
  expect(ae.file).toBe(path);
  expect(ae.message).toContain(path);
  expect(ae.reason).toMatch(reason);
  return ae;
}

describe('parseTarballName', () => {
  it.each([
    ['falco-0.39.0-x86_64.tar.gz', 'falco', '0.39.0', 'x86_64', false],
    ['falco-0.39.0-static-x86_64.tar.gz', 'falco', '0.39.0', 'x86_64', true],
    ['falco-0.39.0-aarch64.tar.gz', 'falco', '0.39.0', 'aarch64', false],
    ['falco-0.40.0-rc1-aarch64.tar.gz', 'falco', '0.40.0-rc1', 'aarch64', false],
    ['falco-0.40.0-rc1-static-x86_64.tar.gz', 'falco', '0.40.0-rc1', 'x86_64', true],
    ['falco-0.37.1-1-x86_64.tar.gz', 'falco', '0.37.1-1', 'x86_64', false],
    ['falco-0.36.0-5+3a2b1c0-x86_64.tar.gz', 'falco', '0.36.0-5+3a2b1c0', 'x86_64', false],
    ['falcoctl-0.10.1-amd64.tar.gz', 'falcoctl', '0.10.1', 'x86_64', false],
    ['falcoctl-0.10.1-arm64.tar.gz', 'falcoctl', '0.10.1', 'aarch64', false],
    ['falco-rules-3.2.0-noarch.tar.gz', 'falco-rules', '3.2.0', 'noarch', false],
    ['k8s-metacollector-0.1.1-x86_64.tgz', 'k8s-metacollector', '0.1.1', 'x86_64', false],
    ['falco-0.39.0~rc2-x86_64.tar.gz', 'falco', '0.39.0~rc2', 'x86_64', false],
  ])('%s', (file, name, version, arch, isStatic) => {
    expect(parseTarballName(file)).toEqual({ name, version, arch, static: isStatic });
  });

  it.each([
    ['falco-0.39.0.tar.gz', /known arch/],
    ['falco-0.39.0-sparc-x86.tar.gz', /known arch/],
    ['falco-x86_64.tar.gz', /no version/],
    ['falco-static-x86_64.tar.gz', /no version/],
    ['0.39.0-x86_64.tar.gz', /no package name/],
    ['x86_64.tar.gz', /no version/],
    ['falco--0.39.0-x86_64.tar.gz', /empty part/],
    ['falco-0.39.0--x86_64.tar.gz', /empty part/],
    ['falco-0.39.0-x86_64.tar.xz', /\.tar\.gz/],
  ])('refuses %s', (file, reason) => {
    const r = parseTarballName(file);
    expect(typeof r).toBe('string');
    expect(r).toMatch(reason);
  });
});

describe('readTarball on tarballs built by tar czf', () => {
  const files = readdirSync(binDir)
    .filter((f) => f.endsWith('.tar.gz'))
    .sort();

  it('has the fixture set', () => {
    expect(files).toContain('falco-0.39.0-static-x86_64.tar.gz');
    expect(files).toContain('falco-0.40.0-rc1-aarch64.tar.gz');
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  it.each(files)('%s: digests match node:crypto, entries match tar -t', async (file) => {
    const path = join(binDir, file);
    const bytes = readFileSync(path);
    const a = await readTarball(path);
    expect(a.kind).toBe('tarball');
    expect(a.path).toBe(path);
    expect(a.fileName).toBe(file);
    expect(a.size).toBe(bytes.length);
    expect(a.sha256).toBe(digestOf('sha256', bytes));
    expect(a.digests).toEqual({
      size: bytes.length,
      md5: digestOf('md5', bytes),
      sha1: digestOf('sha1', bytes),
      sha256: digestOf('sha256', bytes),
      sha512: digestOf('sha512', bytes),
    });
    const listed = execFileSync('tar', ['-tzf', path], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(a.entries).toBe(listed.length);
    const expected = parseTarballName(file);
    if (typeof expected === 'string') throw new Error(expected);
    expect(a).toMatchObject(expected);
    expect(a.static).toBe(file.includes('-static-'));
  });

  it('reads many tarballs at once without mixing them up', async () => {
    const paths = files.map((f) => join(binDir, f));
    const results = await Promise.all(paths.map((p) => readTarball(p)));
    for (const [i, r] of results.entries()) {
      expect(r.sha256).toBe(digestOf('sha256', readFileSync(paths[i]!)));
    }
  });
});

describe('readTarball refuses what is not a gzip-compressed tar', () => {
  const good = () => join(binDir, 'falco-0.39.0-x86_64.tar.gz');

  it('a plain-text file named .tar.gz', async () => {
    await expectRefused(join(badDir, 'x-1.0-x86_64.tar.gz'), /not gzip/);
  });

  it('a short gzip stream that is not a tar', async () => {
    await expectRefused(join(badDir, 'notar-1.0-x86_64.tar.gz'), /tar/);
  });

  it('a gzip stream of text longer than a tar block', async () => {
    const path = join(scratch, 'text-1.0-x86_64.tar.gz');
    const text = Buffer.from('line of text that is no tar header\n'.repeat(200));
    const gz = spawnSync('gzip', ['-n', '-c'], { input: text });
    expect(gz.status).toBe(0);
    writeFileSync(path, gz.stdout);
    await expectRefused(path, /not a tar/);
  });

  it('a tar that is not compressed', async () => {
    const path = join(scratch, 'plain-1.0-x86_64.tar.gz');
    execFileSync('tar', ['-cf', path, '-C', scratch, '--files-from', '/dev/null']);
    await expectRefused(path, /not gzip/);
  });

  it('an empty tar, compressed', async () => {
    const path = join(scratch, 'empty-1.0-x86_64.tar.gz');
    execFileSync('tar', ['-czf', path, '--files-from', '/dev/null']);
    await expectRefused(path, /no entries/);
  });

  it('the fixture cut short', async () => {
    await expectRefused(join(badDir, 'truncated-0.39.0-x86_64.tar.gz'), /ends early|truncated/);
  });

  it('cuts at many offsets, each one gzip -t also rejects', async () => {
    const bytes = readFileSync(good());
    const n = bytes.length;
    const offsets = [
      1,
      2,
      9,
      10,
      11,
      64,
      511,
      512,
      4096,
      20_000,
      n >> 1,
      n - 100,
      n - 9,
      n - 8,
      n - 4,
      n - 1,
    ];
    for (const cut of offsets) {
      const path = join(scratch, `cut${cut}-0.39.0-x86_64.tar.gz`);
      writeFileSync(path, bytes.subarray(0, cut));
      // The real tool must agree that the cut file is broken, else the case proves nothing.
      expect(spawnSync('gzip', ['-t', path]).status, `gzip -t on cut at ${cut}`).not.toBe(0);
      await expectRefused(path, /gzip|tar/);
    }
  });

  it('a flipped byte in the compressed body', async () => {
    const bytes = Buffer.from(readFileSync(good()));
    const at = bytes.length >> 1;
    bytes[at] = bytes[at]! ^ 0xff;
    const path = join(scratch, 'flip-0.39.0-x86_64.tar.gz');
    writeFileSync(path, bytes);
    expect(spawnSync('gzip', ['-t', path]).status).not.toBe(0);
    await expectRefused(path, /gzip|tar/);
  });

  it('an empty file', async () => {
    const path = join(scratch, 'zero-1.0-x86_64.tar.gz');
    writeFileSync(path, '');
    await expectRefused(path, /empty/);
  });

  it('a directory', async () => {
    const path = join(scratch, 'dir-1.0-x86_64.tar.gz');
    mkdirSync(path, { recursive: true });
    await expectRefused(path, /directory/);
  });

  it('a missing file', async () => {
    await expectRefused(join(scratch, 'missing-1.0-x86_64.tar.gz'), /no such file/);
  });

  it('a good tarball with a name that does not parse', async () => {
    const path = join(scratch, 'falco-0.39.0.tar.gz');
    writeFileSync(path, readFileSync(good()));
    await expectRefused(path, /known arch/);
  });
});

describe('the committed samples', () => {
  it('read as tarballs', async () => {
    const tarballs = readdirSync(samplesDir).filter((f) => f.endsWith('.tar.gz'));
    expect(tarballs.length).toBeGreaterThanOrEqual(1);
    for (const f of tarballs) {
      const path = join(samplesDir, f);
      const a = await readTarball(path);
      expect(a.sha256).toBe(digestOf('sha256', readFileSync(path)));
      expect(a.entries).toBe(
        execFileSync('tar', ['-tzf', path], { encoding: 'utf8' }).split('\n').filter(Boolean).length,
      );
    }
  });
});
