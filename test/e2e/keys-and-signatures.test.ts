import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRpm } from '../../src/artifacts/read-rpm.js';
import { pkgpubProcess } from '../support/cli.js';
import { rpmCheckSig } from '../support/dnf.js';
import { badSignatures } from '../support/gpg.js';
import { buildRpms } from '../support/rpmbuild.js';
import { samplesDir, scratchRoot } from '../support/paths.js';

let work: string;
let keyDir: string;
let repo: string;
let generated: { code: number; out: string; err: string };

/** Every file below `dir` (relative paths). */
async function files(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await files(dir, rel)));
    else out.push(rel);
  }
  return out;
}

/** `pkgpub keys generate` through the built CLI into `out`, with any extra flags. */
const generateKeys = (out: string, ...extra: string[]) =>
  pkgpubProcess([
    'keys',
    'generate',
    '--name',
    'Sig Test',
    '--email',
    'sig@example.invalid',
    ...extra,
    '--out',
    out,
  ]);

/** `pkgpub publish` through the built CLI, signed with the key generated into `keys`. */
const publishSigned = (input: string, to: string, keys: string, ...more: string[]) =>
  pkgpubProcess([
    'publish',
    input,
    '--to',
    to,
    '--signing-key',
    join(keys, 'pkgpub-signing-key.asc'),
    ...more,
  ]);

// The built CLI, as a user runs it: key generation into a folder that does not exist yet, then a
// publish of the samples, whose reads run in worker threads and whose .asc files come from the
// digests those workers compute.
beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'keys-sigs-'));
  keyDir = join(work, 'new', 'keys');
  repo = join(work, 'public');
  generated = await generateKeys(keyDir);
  const res = await publishSigned(samplesDir, repo, keyDir);
  expect(res.code, res.err).toBe(0);
}, 120_000);

describe('pkgpub keys generate', () => {
  it('makes the --out folder, writes the secret key owner-only, and prints no key material', async () => {
    expect(generated.code, generated.err).toBe(0);
    const secret = await readFile(join(keyDir, 'pkgpub-signing-key.asc'), 'utf8');
    expect(secret).toContain('-----BEGIN PGP PRIVATE KEY BLOCK-----');
    expect((await stat(join(keyDir, 'pkgpub-signing-key.asc'))).mode & 0o777).toBe(0o600);
    expect((await stat(keyDir)).mode & 0o077).toBe(0);
    const said = generated.out + generated.err;
    expect(said).not.toContain('PRIVATE KEY');
    const body = secret.split('\n').filter((l) => l.length > 40);
    for (const line of body) expect(said).not.toContain(line);
  });

  it('refuses to overwrite an existing secret key', async () => {
    const again = await generateKeys(keyDir);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/exists/);
  });
});

describe('detached signatures of a publish through the built CLI', () => {
  it('every .asc in the tree verifies with gpgv against the generated public key', async () => {
    const all = await files(repo);
    const signed = all.filter((f) => f.endsWith('.asc') && all.includes(f.slice(0, -4)));
    // debs, rpms, the tarball, SHA256SUMS, Release.gpg's sibling is not .asc but repomd.xml.asc is.
    for (const want of ['.deb.asc', '.rpm.asc', '.tar.gz.asc', 'SHA256SUMS.asc', 'repomd.xml.asc'])
      expect(
        signed.some((f) => f.endsWith(want)),
        want,
      ).toBe(true);
    expect(await badSignatures(work, join(keyDir, 'pkgpub-public-key.asc'), repo, signed)).toEqual([]);
  });

  it('the rpms, signed by worker threads, pass rpmkeys -K with the published key, payload unchanged', async () => {
    const rpms = (await files(repo)).filter((f) => f.endsWith('.rpm'));
    expect(rpms.length).toBe(2);
    for (const f of rpms) {
      const r = await rpmCheckSig(join(work, 'rpmdb'), join(repo, 'keys/falco-packages.asc'), join(repo, f));
      expect(r.code, r.out).toBe(0);
      expect(r.out, f).toMatch(/Header V4 EdDSA\/SHA\d+ Signature, key ID [0-9a-f]+: OK/);
      // The copy keeps the input's main header and payload: the tail of both files is the same.
      const [pub, input] = [
        await readFile(join(repo, f)),
        await readFile(join(samplesDir, f.split('/').pop()!)),
      ];
      const tail = input.length - (await readRpm(join(samplesDir, f.split('/').pop()!))).headerRange.start;
      expect(pub.subarray(pub.length - tail).equals(input.subarray(input.length - tail))).toBe(true);
    }
  });
});

describe('worker threads on bad input (built CLI)', () => {
  // Signing rpms, their headers are read on the main thread (the debs and tarballs on the workers);
  // with --no-sign-rpms the rpms are read on the workers too.
  it.each([[[]], [['--no-sign-rpms']]])(
    'a truncated rpm among good ones fails the publish with one line naming it, and the target keeps what it had (%j)',
    async (more: string[]) => {
      const inputs = join(work, 'bad-inputs');
      await mkdir(inputs, { recursive: true });
      const names = (await readdir(samplesDir)).filter((n) => /\.(rpm|deb|tar\.gz)$/.test(n));
      for (const n of names) await writeFile(join(inputs, n), await readFile(join(samplesDir, n)));
      const good = await readFile(join(samplesDir, 'falco-0.39.0-1.x86_64.rpm'));
      // Sorted between the good ones, so reads on both workers are in flight when it fails.
      const bad = join(inputs, 'falco-0.38.0-1.x86_64.rpm');
      await writeFile(bad, good.subarray(0, 3000));
      const before = await files(repo);
      const res = await publishSigned(inputs, repo, keyDir, ...more);
      expect(res.code).toBe(1);
      const errors = res.err.split('\n').filter((l) => l.startsWith('error:'));
      expect(errors).toEqual([expect.stringMatching(/^error: .*falco-0\.38\.0-1\.x86_64\.rpm: truncated/)]);
      expect(await files(repo)).toEqual(before);
    },
  );
});

describe('an RSA 4096 key (built CLI: signatures made on worker threads)', () => {
  it('signs 16 rpm headers and 32 .asc files that rpmkeys and gpgv accept', async () => {
    const dir = join(work, 'rsa');
    const keys = join(dir, 'keys');
    const gen = await generateKeys(keys, '--type', 'rsa4096');
    expect(gen.code, gen.err).toBe(0);
    // 16 of each: enough signatures that they go to the worker pool (signing/sign-digests.ts).
    const inputs = join(dir, 'in');
    await buildRpms(
      inputs,
      Array.from({ length: 16 }, (_, i) => ({ name: `rsa${i}`, version: '1.0', arch: 'noarch' })),
    );
    const tarball = await readFile(join(samplesDir, 'falco-0.39.0-x86_64.tar.gz'));
    for (let i = 0; i < 16; i++) await writeFile(join(inputs, `falco-0.39.${i + 1}-x86_64.tar.gz`), tarball);
    const out = join(dir, 'public');
    const res = await publishSigned(inputs, out, keys);
    expect(res.code, res.err).toBe(0);

    const published = await files(out);
    const rpms = published.filter((f) => f.endsWith('.rpm'));
    expect(rpms.length).toBe(16);
    for (const f of rpms) {
      const r = await rpmCheckSig(join(dir, 'rpmdb'), join(out, 'keys/falco-packages.asc'), join(out, f));
      expect(r.out, f).toMatch(/Header V4 RSA\/SHA256 Signature, key ID [0-9a-f]+: OK/);
    }
    const ascs = published.filter((f) => /\.(rpm|tar\.gz)\.asc$/.test(f));
    expect(ascs.length).toBe(32);
    expect(await badSignatures(dir, join(out, 'keys/falco-packages.asc'), out, ascs)).toEqual([]);
  }, 180_000);
});
