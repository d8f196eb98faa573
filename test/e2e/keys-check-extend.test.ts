import { cp, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { aptProblems, makeAptRoot } from '../support/apt.js';
import { pkgpubProcess } from '../support/cli.js';
import { rpmCheckSig } from '../support/dnf.js';
import { type GpgHome, gpgv, keyringFor, makeGpgHome } from '../support/gpg.js';
import { fixturesDir, samplesDir, scratchRoot } from '../support/paths.js';

const DAY = 86_400_000;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
/** key-health.ts's advice, as every expiry finding ends. */
const REFRESH =
  'extend it with `pkgpub keys extend --days N --out FILE` (which publishes the extended public key too), or make a new one with `pkgpub keys generate`';

let work: string;
let gh: GpgHome;

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'keys-check-'));
  gh = makeGpgHome();
});
afterAll(() => gh?.cleanup());

/** A key made by pkgpub's own generator, created `ageDays` ago and expiring `days` after that. */
async function keyFile(name: string, ageDays: number, days: number) {
  const created = Date.now() - ageDays * DAY;
  const pair = await generateKeyPair({
    name,
    email: `${name.toLowerCase()}@pkgpub.test`,
    type: 'ed25519',
    now: new Date(created),
    expiresInDays: days,
  });
  const file = join(work, `${name}.asc`);
  await writeFile(file, pair.privateArmored, { mode: 0o600 });
  // The generator's dates are whole seconds, as OpenPGP stores them.
  const expires = Math.floor(created / 1000) * 1000 + days * DAY;
  return { file, fingerprint: pair.fingerprint, expires };
}

const check = (...args: string[]) => pkgpubProcess(['keys', 'check', ...args]);
const errorLines = (err: string) => err.split('\n').filter((l) => l.startsWith('error: '));
const warningLines = (err: string) => err.split('\n').filter((l) => l.startsWith('warning: '));

describe('pkgpub keys check (built CLI)', () => {
  it('a key whose self-signature and subkey binding are SHA-1 (gpg --cert-digest-algo SHA1) is an error: exit 1', async () => {
    gh.gpgOk([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--cert-digest-algo',
      'SHA1',
      '--digest-algo',
      'SHA1',
      '--quick-gen-key',
      'Sha One <sha1@pkgpub.test>',
      'ed25519',
      'default',
      '1y',
    ]);
    const fpr = gh
      .gpgOk(['--with-colons', '--list-keys', 'sha1@pkgpub.test'])
      .match(/^fpr:+([0-9A-F]{40}):/m)![1]!;
    gh.gpgOk([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--cert-digest-algo',
      'SHA1',
      '--quick-add-key',
      fpr,
      'cv25519',
      'encr',
      '1y',
    ]);
    const armored = gh.gpgOk([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--armor',
      '--export-secret-keys',
      'sha1@pkgpub.test',
    ]);
    // The judge first: gpg itself says both signatures are SHA-1 (digest algo 2).
    expect(gh.gpgOk(['--list-packets'], armored)).toMatch(
      /sigclass 0x13\n\tdigest algo 2,[\s\S]*sigclass 0x18\n\tdigest algo 2,/,
    );
    const file = join(work, 'sha1.asc');
    await writeFile(file, armored, { mode: 0o600 });
    const res = await check(file);
    expect(res.code, res.err).toBe(1);
    expect(errorLines(res.err)).toEqual([
      `error: ${file}: signing key ${fpr}: its self-signature uses SHA1, which apt's sqv rejects; re-certify it with \`pkgpub keys extend --days N --out FILE\` or make a new one with \`pkgpub keys generate\``,
      'error: keys check: 1 error(s)',
    ]);
    expect(res.out).toMatch(/self-signature SHA1 /);

    const json = await check(file, '--json');
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.out);
    expect(doc.status).toBe('error');
    expect(doc.signingKey.fingerprint).toBe(fpr);
    expect(
      doc.signingKey.signatures.map((s: { kind: string; hash: string }) => `${s.kind} ${s.hash}`),
    ).toEqual(['self-signature SHA1', 'subkey-binding SHA1']);
    expect(doc.signingKey.subkeys).toEqual([
      expect.objectContaining({ algorithm: 'ecdh', curve: 'curve25519Legacy', capabilities: ['encrypt'] }),
    ]);
    expect(doc.errors).toHaveLength(1);
  });

  it('an expired key is an error; one expiring in 10 days is a warning (exit 0) unless --warn-days is shorter', async () => {
    const expired = await keyFile('Expired', 20, 5);
    const res = await check(expired.file);
    expect(res.code, res.err).toBe(1);
    expect(errorLines(res.err)).toEqual([
      `error: ${expired.file}: signing key ${expired.fingerprint} expired on ${day(expired.expires)}; ${REFRESH}`,
      'error: keys check: 1 error(s)',
    ]);
    const doc = JSON.parse((await check(expired.file, '--json')).out);
    expect(doc).toMatchObject({ status: 'error', warnDays: 60, signingKey: { daysLeft: -16 } });

    const soon = await keyFile('Soon', 1, 11);
    const warned = await check(soon.file);
    expect(warned.code, warned.err).toBe(0);
    expect(errorLines(warned.err)).toEqual([]);
    expect(warningLines(warned.err)).toEqual([
      `warning: ${soon.file}: signing key ${soon.fingerprint} expires on ${day(soon.expires)}; ${REFRESH} before then`,
    ]);
    expect(warned.out).toMatch(/expires +\d{4}-\d\d-\d\d \((9|10) days left\)/);
    expect(warned.out).toMatch(/^status: warning \(0 error\(s\), 1 warning\(s\)\)$/m);
    const w = JSON.parse((await check(soon.file, '--json')).out);
    expect(w).toMatchObject({
      status: 'warning',
      errors: [],
      signingKey: { status: 'warning', signsWith: soon.fingerprint },
    });
    expect(w.warnings).toHaveLength(1);

    const quiet = await check(soon.file, '--warn-days', '5', '--json');
    expect(quiet.code).toBe(0);
    expect(JSON.parse(quiet.out)).toMatchObject({ status: 'ok', warnings: [], warnDays: 5 });
  });

  it('bad usage exits 2', async () => {
    const runs = await Promise.all([
      check(),
      check('--warn-days', 'soon', join(work, 'x.asc')),
      check('a.asc', 'b.asc'),
      pkgpubProcess(['keys', 'extend', '--out', join(work, 'never.asc')]),
      pkgpubProcess(['keys', 'extend', '--days', '30']),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2, 2]);
  });

  it('a target whose bundle does not hold the signing key is an error', async () => {
    const a = await keyFile('Alpha', 1, 365);
    const b = await keyFile('Beta', 1, 365);
    const repo = join(work, 'other-key');
    const pub = await pkgpubProcess([
      'publish',
      join(samplesDir, 'falco-0.39.0-x86_64.tar.gz'),
      '--to',
      repo,
      '--signing-key',
      a.file,
    ]);
    expect(pub.code, pub.err).toBe(0);
    expect((await check(a.file, '--to', repo)).code).toBe(0);
    const res = await check(b.file, '--to', repo, '--json');
    expect(res.code).toBe(1);
    const doc = JSON.parse(res.out);
    expect(doc.bundle).toEqual({
      key: 'keys/falco-packages.asc',
      present: true,
      fingerprints: [a.fingerprint],
      holdsSigningKey: false,
    });
    expect(doc.errors).toEqual([
      `keys/falco-packages.asc does not hold the signing key ${b.fingerprint}: apt and dnf users who fetch it cannot verify what that key signs`,
    ]);
    expect(doc.files.map((f: { key: string; role: string }) => `${f.key} ${f.role}`)).toEqual([
      'keys/falco-packages.asc bundle',
      `keys/falco-${a.fingerprint.slice(-8).toLowerCase()}.asc per-key`,
    ]);
  });
});

describe('pkgpub keys extend (built CLI)', () => {
  let key: Awaited<ReturnType<typeof keyFile>>;
  let repo: string;
  /** What users saved before the extension. */
  let oldCopy: string;
  let published: string;

  it('re-certifies the key (same fingerprint, new expiry, SHA-256) and publishes it with the notice', async () => {
    key = await keyFile('Extend', 1, 30);
    repo = join(work, 'extend');
    // One of each kind the key signs for: Release/InRelease, an rpm header, SHA256SUMS.
    const inputs = join(work, 'inputs');
    await mkdir(inputs);
    for (const n of ['falco_0.39.0_amd64.deb', 'falco-0.39.0-1.x86_64.rpm', 'falco-0.39.0-x86_64.tar.gz'])
      await cp(join(samplesDir, n), join(inputs, n));
    const first = await pkgpubProcess(['publish', inputs, '--to', repo, '--signing-key', key.file]);
    expect(first.code, first.err).toBe(0);
    oldCopy = join(work, 'old-copy.asc');
    await cp(join(repo, 'keys/falco-packages.asc'), oldCopy);

    const out = join(work, 'extended.asc');
    const ext = await pkgpubProcess([
      'keys',
      'extend',
      '--days',
      '400',
      '--signing-key',
      key.file,
      '--to',
      repo,
      '--out',
      out,
    ]);
    expect(ext.code, ext.err).toBe(0);
    const oldDay = day(key.expires);
    expect(ext.out).toContain(
      `notice: anyone who saved the public key before today must fetch http://localhost:8080/keys/falco-packages.asc again before ${oldDay}`,
    );
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    const secret = await readFile(out, 'utf8');
    expect(secret).toContain('PRIVATE KEY BLOCK');
    for (const line of secret.split('\n').filter((l) => l.length > 40))
      expect(ext.out + ext.err).not.toContain(line);
    // Never over an existing file without --force; and keys check, read only too, beside it.
    const [again, checked] = await Promise.all([
      pkgpubProcess(['keys', 'extend', '--days', '500', '--signing-key', out, '--to', repo, '--out', out]),
      check(out, '--to', repo, '--json'),
    ]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists; not overwriting a key/);
    expect(await readFile(out, 'utf8')).toBe(secret);

    // gpg's view: same fingerprint, the new expiry, every self-signature and binding SHA-256.
    published = join(repo, 'keys/falco-packages.asc');
    const shown = gh.gpgOk(['--with-colons', '--show-keys', published]);
    const pubLine = shown
      .split('\n')
      .find((l) => l.startsWith('pub:'))!
      .split(':');
    expect(shown).toContain(`fpr:::::::::${key.fingerprint}:`);
    const newExpiry = Number(pubLine[6]) * 1000;
    expect(Math.abs(newExpiry - (Date.now() + 400 * DAY))).toBeLessThan(120_000);
    expect(gh.gpgOk(['--list-packets', published])).not.toMatch(/digest algo [^8],/);
    const oldShown = gh
      .gpgOk(['--with-colons', '--show-keys', oldCopy])
      .split('\n')
      .find((l) => l.startsWith('pub:'))!;
    expect(day(Number(oldShown.split(':')[6]) * 1000)).toBe(oldDay);
    expect(
      await readFile(join(repo, `keys/falco-${key.fingerprint.slice(-8).toLowerCase()}.asc`), 'utf8'),
    ).toBe(await readFile(published, 'utf8'));

    // The root page says until when an old copy works.
    const root = await readFile(join(repo, 'index.html'), 'utf8');
    expect(root).toMatch(new RegExp(`fetch it again before <strong>${oldDay}</strong>`));

    // keys check: the new export and the tree pass.
    expect(checked.code, checked.err).toBe(0);
    expect(JSON.parse(checked.out)).toMatchObject({ status: 'ok', bundle: { holdsSigningKey: true } });

    // A later publish signed with the new export finds the key files unchanged.
    const more = await pkgpubProcess([
      'publish',
      join(fixturesDir, 'deb', 'falco_0.39.0_arm64.deb'),
      join(fixturesDir, 'rpm', 'falco-0.39.0-1.aarch64.rpm'),
      '--to',
      repo,
      '--signing-key',
      out,
      '--json',
    ]);
    expect(more.code, more.err).toBe(0);
    const puts = JSON.parse(more.out).plan.puts.map((p: { key: string }) => p.key);
    expect(puts.filter((k: string) => k.startsWith('keys/'))).toEqual([]);
    // One signed with the old export refuses to put the old copy back.
    const stale = await pkgpubProcess([
      'publish',
      join(fixturesDir, 'deb', 'falco_0.38.2_amd64.deb'),
      '--to',
      repo,
      '--signing-key',
      key.file,
    ]);
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(/keys\/falco-[0-9a-f]{8}\.asc is already published with other bytes/);
  });

  it('apt (signed-by), rpmkeys -K and gpgv verify what was published before and after with the new copy and the old one (until its expiry)', async () => {
    expect(oldCopy, 'the test before must have run').toBeDefined();
    for (const [tag, copy] of [
      ['new', published],
      ['old', oldCopy],
    ] as const) {
      const apt = await makeAptRoot(`deb [signed-by=${copy}] file:${repo}/packages/deb stable main`);
      const up = await apt.apt('apt-get', ['update']);
      expect(up.code, up.out).toBe(0);
      expect(aptProblems(up.out), tag).toEqual([]);
      // Signed before the extension and after it.
      for (const name of ['falco-0.39.0-1.x86_64.rpm', 'falco-0.39.0-1.aarch64.rpm']) {
        const k = await rpmCheckSig(join(work, `rpmdb-${tag}`), copy, join(repo, 'packages/rpm', name));
        expect(k.code, k.out).toBe(0);
        expect(k.out).toMatch(/Header V4 EdDSA\/SHA\d+ Signature, key ID [0-9a-f]+: OK/);
      }
      const ring = keyringFor(gh, await readFile(copy, 'utf8'), `ring-${tag}.gpg`);
      const inRelease = gpgv(gh, ring, join(repo, 'packages/deb/dists/stable/InRelease'));
      expect(inRelease.status, inRelease.stderr).toBe(0);
      // A day past the old expiry (gpg's clock moved, as apt's gpgv would see it then): the old copy
      // is expired (EXPKEYSIG, which apt refuses), the new one still good.
      const later = Math.floor((key.expires + DAY) / 1000);
      const judged = gh.gpg([
        '--status-fd',
        '1',
        '--faked-system-time',
        `${later}!`,
        '--no-default-keyring',
        '--keyring',
        ring,
        '--verify',
        join(repo, 'packages/deb/dists/stable/InRelease'),
      ]);
      expect(judged.stdout, judged.stderr).toMatch(
        tag === 'old' ? /\[GNUPG:\] EXPKEYSIG / : /\[GNUPG:\] GOODSIG /,
      );
      const sums = gpgv(
        gh,
        ring,
        join(repo, 'packages/bin/x86_64/SHA256SUMS.asc'),
        join(repo, 'packages/bin/x86_64/SHA256SUMS'),
      );
      expect(sums.status, sums.stderr).toBe(0);
    }
  });

  it('an expired key comes back (same fingerprint) and then passes keys check; the notice says old copies are dead', async () => {
    const lapsed = await keyFile('Lapsed', 20, 5);
    const repo = join(work, 'lapsed');
    const out = join(work, 'lapsed-extended.asc');
    const ext = await pkgpubProcess([
      'keys',
      'extend',
      '--days',
      '30',
      '--signing-key',
      lapsed.file,
      '--to',
      repo,
      '--out',
      out,
    ]);
    expect(ext.code, ext.err).toBe(0);
    expect(ext.out).toContain(
      `notice: copies of the public key saved before today expired on ${day(lapsed.expires)}: anyone holding one must fetch http://localhost:8080/keys/falco-packages.asc again`,
    );
    const shown = gh.gpgOk(['--with-colons', '--show-keys', join(repo, 'keys/falco-packages.asc')]);
    expect(shown).toContain(`fpr:::::::::${lapsed.fingerprint}:`);
    const checked = await check(out, '--to', repo, '--json');
    expect(checked.code, checked.err).toBe(0);
    expect(JSON.parse(checked.out)).toMatchObject({
      status: 'warning',
      errors: [],
      signingKey: { fingerprint: lapsed.fingerprint, daysLeft: 29 },
      bundle: { holdsSigningKey: true },
    });
    // Nothing left to warn about on the root page: no copy saved before still verifies.
    expect(await readFile(join(repo, 'index.html'), 'utf8')).not.toContain('fetch it again before');
  });
});
