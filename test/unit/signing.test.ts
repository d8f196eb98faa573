import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { enums, generateKey, readPrivateKey, revokeKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningError } from '../../src/errors.js';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { prehashDigest } from '../../src/signing/prehash.js';
import type { Signer } from '../../src/signing/signer.js';
import {
  type GpgHome,
  gpgv,
  keyringFor,
  listKeys,
  makeGpgHome,
  runTool,
  signaturePackets,
  sqv,
} from '../support/gpg.js';
import { scratchRoot } from '../support/paths.js';
import { itWithTools, toolsMissing } from '../support/tools.js';

const DAY = 86_400_000;
const STRONG_DIGESTS = [8, 9, 10]; // SHA256, SHA384, SHA512 in gpg --list-packets numbering

const RELEASE = [
  'Origin: pkgpub',
  'Label: pkgpub',
  'Suite: stable',
  'Codename: stable',
  '-Dashed: a line that needs dash-escaping',
  'Architectures: amd64 arm64',
  'SHA256:',
  ' 3f2a0b5c1e9d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a 1234 main/binary-amd64/Packages',
  '',
].join('\n');

let home: GpgHome;
beforeAll(() => {
  home = makeGpgHome();
});
afterAll(() => home?.cleanup());

async function expectSigningError(p: Promise<unknown>): Promise<SigningError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SigningError);
  return err as SigningError;
}

/** Runs every judge over one signer: gpgv on clearsign, detached armored and binary; digests; tamper. */
async function judgeSigner(signer: Signer, tag: string): Promise<void> {
  const keyring = keyringFor(home, signer.publicKeyArmored(), `${tag}.gpg`);
  const data = new TextEncoder().encode(RELEASE);
  const dataFile = home.file(`${tag}-Release`, data);

  const clearText = await signer.clearsign(RELEASE);
  const inRelease = home.file(`${tag}-InRelease`, clearText);
  // gpg --list-packets consumes a cleartext signature silently: list its signature block alone.
  const clearSigBlock = home.file(
    `${tag}-InRelease.sigblock`,
    clearText.slice(clearText.indexOf('-----BEGIN PGP SIGNATURE-----')),
  );
  const clear = gpgv(home, keyring, inRelease);
  expect(clear.status, clear.stderr).toBe(0);
  expect(clear.stderr).toMatch(/Good signature/);
  // gpg --verify --output writes back the signed text: it must be exactly what we were given.
  const out = `${inRelease}.out`;
  home.gpgOk(['--no-default-keyring', '--keyring', keyring, '--output', out, '--yes', '--verify', inRelease]);
  expect(readFileSync(out, 'utf8')).toBe(RELEASE);

  const asc = home.file(`${tag}-Release.gpg`, await signer.detachSignArmored(data));
  const det = gpgv(home, keyring, asc, dataFile);
  expect(det.status, det.stderr).toBe(0);

  const bin = await signer.detachSignBinary(data);
  // A raw packet, not armor: tag 2 (signature) in old or new packet format.
  const first = bin[0]!;
  const tagNo = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
  expect(tagNo).toBe(2);
  const sigFile = home.file(`${tag}-Release.sig`, bin);
  const binRes = gpgv(home, keyring, sigFile, dataFile);
  expect(binRes.status, binRes.stderr).toBe(0);

  // The prehash path: the digest of data || trailer comes from a hash the caller already ran.
  const template = signer.prehashTemplate();
  expect(template, 'RSA and Ed25519 keys sign precomputed digests').toBeDefined();
  const preDigest = prehashDigest(createHash('sha256').update(data), template!);
  const pre = home.file(`${tag}-Release.pre.asc`, await signer.signPrehashed(template!, preDigest));
  const preRes = gpgv(home, keyring, pre, dataFile);
  expect(preRes.status, preRes.stderr).toBe(0);
  expect(preRes.stderr).toMatch(/Good signature/);
  // A digest over other data yields a signature gpgv refuses for this data.
  const otherDigest = prehashDigest(createHash('sha256').update('other data'), template!);
  const wrong = home.file(`${tag}-Release.wrong.asc`, await signer.signPrehashed(template!, otherDigest));
  expect(gpgv(home, keyring, wrong, dataFile).status).not.toBe(0);
  // A template changed after the fact (another signing time) is refused, not signed.
  await expectSigningError(signer.signPrehashed({ ...template!, created: template!.created + 1 }, preDigest));

  for (const f of [clearSigBlock, asc, sigFile, pre]) {
    const sigs = signaturePackets(home, f);
    expect(sigs).toHaveLength(1);
    expect(sigs[0]!.version).toBe(4);
    expect(STRONG_DIGESTS).toContain(sigs[0]!.digestAlgo);
    expect(sigs[0]!.keyId).toBe(signer.signingKeyFingerprint.slice(-16));
  }

  // A changed field must break the clearsigned file for both gpgv and gpg --verify.
  const tampered = home.file(
    `${tag}-InRelease.bad`,
    (await signer.clearsign(RELEASE)).replace('Suite: stable', 'Suite: testing'),
  );
  expect(gpgv(home, keyring, tampered).status).not.toBe(0);
  expect(home.gpg(['--no-default-keyring', '--keyring', keyring, '--verify', tampered]).status).not.toBe(0);
  // And one flipped byte in the data breaks the detached signature.
  const bad = data.slice();
  bad[0] = bad[0]! ^ 1;
  expect(gpgv(home, keyring, asc, home.file(`${tag}-Release.bad`, bad)).status).not.toBe(0);
}

describe('generated keys', () => {
  for (const type of ['ed25519', 'rsa4096'] as const) {
    it(`${type}: gpg sees the same v4 key, and gpgv accepts every kind of signature`, async () => {
      const pair = await generateKeyPair({ name: 'Repo Signer', email: `${type}@pkgpub.test`, type });
      const kh = makeGpgHome();
      try {
        kh.gpgOk(['--import'], pair.publicArmored);
        const keys = listKeys(kh);
        expect(keys.map((k) => k.fpr)).toEqual([pair.fingerprint]);
        const packets = kh.gpgOk(['--list-packets'], pair.publicArmored);
        expect(packets).toMatch(/:public key packet:\n\tversion 4/);
        expect(packets).toMatch(type === 'ed25519' ? /algo 22,/ : /algo 1,/);
        if (type === 'rsa4096')
          expect(kh.gpgOk(['--with-colons', '--list-keys'])).toMatch(/^pub:[^:]*:4096:1:/m);
      } finally {
        kh.cleanup();
      }
      const { signer, warnings } = await loadSigner({ keyArmored: pair.privateArmored });
      expect(warnings).toEqual([]);
      expect(signer.fingerprint).toBe(pair.fingerprint);
      expect(signer.keyId).toBe(pair.fingerprint.slice(-16));
      expect(signer.userIds).toEqual([`Repo Signer <${type}@pkgpub.test>`]);
      await judgeSigner(signer, `gen-${type}`);
    });
  }

  for (const type of ['ed25519', 'rsa4096'] as const) {
    it(`${type} with an expiry: rpm imports it, gpg shows the expiry, and it signs`, async () => {
      const pair = await generateKeyPair({
        name: 'Expiring',
        email: `exp-${type}@pkgpub.test`,
        type,
        expiresInDays: 1095,
        passphrase: 'pp',
      });
      // rpm 4.18 refuses a key whose expiry subpacket is critical (what openpgp.js writes).
      const db = mkdtempSync(join(scratchRoot, 'rpmdb-'));
      const pubFile = home.file(`exp-${type}.asc`, pair.publicArmored);
      const imp = runTool('rpmkeys', ['--dbpath', db, '--import', pubFile]);
      rmSync(db, { recursive: true, force: true });
      expect(imp.status, imp.stderr).toBe(0);
      const kh = makeGpgHome();
      try {
        kh.gpgOk(['--import'], pair.publicArmored);
        const colons = kh.gpgOk(['--with-colons', '--list-keys']);
        const pub = colons.split('\n').find((l) => l.startsWith('pub:'))!;
        const expires = Number(pub.split(':')[6]);
        expect(expires * 1000 - Date.now()).toBeGreaterThan(1094 * DAY);
        expect(kh.gpgOk(['--list-packets'], pair.publicArmored)).toMatch(/\thashed subpkt 9 len 4/);
      } finally {
        kh.cleanup();
      }
      const { signer } = await loadSigner({ keyArmored: pair.privateArmored, passphrase: 'pp' });
      await judgeSigner(signer, `gen-exp-${type}`);
    });
  }

  it('a passphrase-protected generated key loads from a file with the passphrase', async () => {
    const pair = await generateKeyPair({
      name: 'P',
      email: 'p@pkgpub.test',
      type: 'ed25519',
      passphrase: 'correct horse',
      expiresInDays: 365,
    });
    const file = home.file('gen-protected.asc', pair.privateArmored);
    await expectSigningError(loadSigner({ keyFile: file }));
    const { signer, warnings } = await loadSigner({ keyFile: file, passphrase: 'correct horse' });
    expect(warnings).toEqual([]);
    await judgeSigner(signer, 'gen-protected');
    // gpg itself accepts our secret-key export with the same passphrase.
    const kh = makeGpgHome();
    try {
      kh.gpgOk(
        ['--pinentry-mode', 'loopback', '--passphrase', 'correct horse', '--import'],
        pair.privateArmored,
      );
      expect(listKeys(kh, true).map((k) => k.fpr)).toEqual([pair.fingerprint]);
    } finally {
      kh.cleanup();
    }
  });
});

describe('keys made by gpg', () => {
  let gh: GpgHome;
  beforeAll(() => {
    gh = makeGpgHome();
  });
  afterAll(() => gh?.cleanup());

  function genKey(uid: string, algo: string, passphrase = '', extra: string[] = []): string {
    gh.gpgOk([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      passphrase,
      ...extra,
      '--quick-gen-key',
      uid,
      algo,
      'default',
      'never',
    ]);
    return exportSecret(uid, passphrase);
  }
  function exportSecret(uid: string, passphrase: string, what = '--export-secret-keys'): string {
    return gh.gpgOk(['--pinentry-mode', 'loopback', '--passphrase', passphrase, '--armor', what, uid]);
  }

  it('ed25519 without passphrase signs, and gpgv accepts it', async () => {
    const armored = genKey('Gpg Ed <gpg-ed@pkgpub.test>', 'ed25519');
    const { signer, warnings } = await loadSigner({ keyArmored: armored });
    expect(warnings).toEqual([]);
    expect(signer.fingerprint).toBe(listKeys(gh).at(-1)!.fpr);
    await judgeSigner(signer, 'gpg-ed');
  });

  describe('rsa3072 with a passphrase', () => {
    const passphrase = 'Tr0ub4dor&3-pkgpub';
    let armored = '';
    beforeAll(() => {
      armored = genKey('Gpg Rsa <gpg-rsa@pkgpub.test>', 'rsa3072', passphrase);
    });

    it('signs with the right passphrase, from a file too', async () => {
      const file = home.file('gpg-rsa.asc', armored);
      const { signer } = await loadSigner({ keyFile: file, passphrase });
      await judgeSigner(signer, 'gpg-rsa');
    });

    it('a binary (unarmored) export works as well', async () => {
      const raw = gh.gpg([
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        passphrase,
        '--output',
        `${gh.dir}/rsa.gpg`,
        '--yes',
        '--export-secret-keys',
        'gpg-rsa@pkgpub.test',
      ]);
      expect(raw.status, raw.stderr).toBe(0);
      const { signer } = await loadSigner({ keyFile: `${gh.dir}/rsa.gpg`, passphrase });
      expect(signer.userIds).toEqual(['Gpg Rsa <gpg-rsa@pkgpub.test>']);
    });

    it('wrong passphrase: one clear line, no key text, no passphrase', async () => {
      const wrong = 'not-the-passphrase-42';
      const err = await expectSigningError(loadSigner({ keyArmored: armored, passphrase: wrong }));
      expect(err.message).toMatch(/wrong passphrase for signing key [0-9A-F]{40}$/);
      expect(err.message.split('\n')).toHaveLength(1);
      const everything = `${err.message}\n${String(err.stack)}\n${inspect(err, { depth: 10, showHidden: true })}`;
      expect(everything).not.toContain(wrong);
      expect(everything).not.toContain(passphrase);
      for (const line of armored.split('\n')) {
        if (line.length >= 16 && !line.startsWith('-----')) expect(everything).not.toContain(line);
      }
      expect(err.cause).toBeUndefined();
    });

    it('missing passphrase says so', async () => {
      const err = await expectSigningError(loadSigner({ keyArmored: armored }));
      expect(err.message).toMatch(/protected by a passphrase/);
    });
  });

  it('an RSA 2048 key is refused as weak', async () => {
    const armored = genKey('Weak <weak@pkgpub.test>', 'rsa2048');
    const err = await expectSigningError(loadSigner({ keyArmored: armored }));
    expect(err.message).toMatch(/too weak: RSA 2048 bits/);
  });

  it('a DSA key is refused with the reason', async () => {
    const armored = genKey('Dsa <dsa@pkgpub.test>', 'dsa2048');
    const err = await expectSigningError(loadSigner({ keyArmored: armored }));
    expect(err.message).toMatch(/uses dsa, which is refused/);
  });

  it('a key preferring only SHA1 still signs with SHA256 or stronger', async () => {
    const armored = genKey('Sha1 Prefs <prefs@pkgpub.test>', 'rsa3072', '', [
      '--default-preference-list',
      'SHA1 AES256 ZLIB',
    ]);
    // The judge first confirms the key really asks for SHA1 only.
    expect(gh.gpgOk(['--list-packets'], armored)).toMatch(/pref-hash-algos: 2\)/);
    const { signer } = await loadSigner({ keyArmored: armored });
    await judgeSigner(signer, 'gpg-sha1-prefs');
  });

  it('a key whose self-signature is SHA1 is refused (sqv rejects such certificates)', async () => {
    const armored = genKey('Sha1 Cert <cert@pkgpub.test>', 'ed25519', '', ['--cert-digest-algo', 'SHA1']);
    expect(gh.gpgOk(['--list-packets'], armored)).toMatch(/sigclass 0x13\n\tdigest algo 2,/);
    const err = await expectSigningError(loadSigner({ keyArmored: armored }));
    expect(err.message, err.message).toMatch(/self-signature uses SHA1/);
  });

  it('picks the signing subkey the way gpg does, also from a subkeys-only export', async () => {
    const uid = 'Sub <sub@pkgpub.test>';
    genKey(uid, 'ed25519');
    const primary = listKeys(gh, true).at(-1)!.fpr;
    gh.gpgOk([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--quick-add-key',
      primary,
      'ed25519',
      'sign',
      '2y',
    ]);
    const sub = listKeys(gh, true).find((k) => k.kind === 'ssb' && k.caps.includes('s'))!;
    expect(sub).toBeDefined();
    const full = await loadSigner({ keyArmored: exportSecret(uid, '') });
    expect(full.signer.fingerprint).toBe(primary);
    expect(full.signer.signingKeyFingerprint).toBe(sub.fpr);
    await judgeSigner(full.signer, 'gpg-sub');
    // gpg's own choice for the same key: its signature's issuer is the same subkey.
    const probe = gh.file('probe.txt', 'x');
    gh.gpgOk(['--yes', '--local-user', primary, '--detach-sign', probe]);
    expect(signaturePackets(gh, `${probe}.sig`)[0]!.keyId).toBe(sub.fpr.slice(-16));

    const stubbed = await loadSigner({
      keyArmored: exportSecret(`${sub.fpr}!`, '', '--export-secret-subkeys'),
    });
    expect(stubbed.signer.signingKeyFingerprint).toBe(sub.fpr);
    await judgeSigner(stubbed.signer, 'gpg-sub-only');
  });
});

describe('key health', () => {
  it('an expired key is refused, saying when and what to do', async () => {
    const pair = await generateKeyPair({
      name: 'Old',
      email: 'old@pkgpub.test',
      type: 'ed25519',
      now: new Date(Date.now() - 20 * DAY),
      expiresInDays: 5,
    });
    const err = await expectSigningError(loadSigner({ keyArmored: pair.privateArmored }));
    const when = new Date(Date.now() - 15 * DAY).toISOString().slice(0, 10);
    expect(err.message).toContain(`expired on ${when}`);
    expect(err.message).toMatch(/quick-set-expire|pkgpub keys generate/);
  });

  it('a key expiring within 30 days signs, with a warning naming the date', async () => {
    const created = new Date(Date.now() - DAY);
    const pair = await generateKeyPair({
      name: 'Soon',
      email: 'soon@pkgpub.test',
      type: 'ed25519',
      now: created,
      expiresInDays: 11,
    });
    const { signer, warnings } = await loadSigner({ keyArmored: pair.privateArmored });
    const when = new Date(created.getTime() + 11 * DAY).toISOString().slice(0, 10);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`expires on ${when}`);
    expect(warnings[0]).toMatch(/pkgpub keys generate/);
    await judgeSigner(signer, 'soon');
    // A 40-day key warns only once fewer than 30 days are left.
    const longer = await generateKeyPair({
      name: 'L',
      email: 'l@pkgpub.test',
      type: 'ed25519',
      expiresInDays: 40,
    });
    expect((await loadSigner({ keyArmored: longer.privateArmored })).warnings).toEqual([]);
    const later = await loadSigner({
      keyArmored: longer.privateArmored,
      now: new Date(Date.now() + 15 * DAY),
    });
    expect(later.warnings).toHaveLength(1);
  });

  it('an expired signing subkey is passed over for the primary, as gpg does', async () => {
    const { privateKey } = await generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'Lapsed Sub', email: 'lapsed@pkgpub.test' }],
      date: new Date(Date.now() - 10 * DAY),
      subkeys: [{ sign: true, keyExpirationTime: 86_400 }],
      format: 'armored',
    });
    const { signer } = await loadSigner({ keyArmored: privateKey });
    expect(signer.signingKeyFingerprint).toBe(signer.fingerprint);
    const kh = makeGpgHome();
    try {
      kh.gpgOk(['--import'], privateKey);
      const subs = listKeys(kh, true).filter((k) => k.kind === 'ssb');
      expect(subs).toHaveLength(1);
      const probe = kh.file('probe.txt', 'x');
      kh.gpgOk(['--yes', '--local-user', signer.fingerprint, '--detach-sign', probe]);
      expect(signaturePackets(kh, `${probe}.sig`)[0]!.keyId).toBe(signer.keyId);
    } finally {
      kh.cleanup();
    }
    await judgeSigner(signer, 'lapsed-sub');
  });

  it('a revoked key is refused', async () => {
    const pair = await generateKeyPair({ name: 'Rev', email: 'rev@pkgpub.test', type: 'ed25519' });
    const { privateKey } = await revokeKey({
      key: await readPrivateKey({ armoredKey: pair.privateArmored }),
      format: 'armored',
    });
    // gpg agrees the key is revoked.
    const kh = makeGpgHome();
    try {
      kh.gpgOk(['--import'], privateKey);
      expect(kh.gpgOk(['--with-colons', '--list-keys'])).toMatch(/^pub:r:/m);
    } finally {
      kh.cleanup();
    }
    const err = await expectSigningError(loadSigner({ keyArmored: privateKey }));
    expect(err.message).toMatch(/is revoked/);
  });

  it('public keys, garbage and missing files get one line that echoes nothing', async () => {
    const pair = await generateKeyPair({ name: 'Pub', email: 'pub@pkgpub.test', type: 'ed25519' });
    const pubErr = await expectSigningError(loadSigner({ keyArmored: pair.publicArmored }));
    expect(pubErr.message).toMatch(/public key/);

    const keyring = keyringFor(home, pair.publicArmored, 'pub-bin.gpg');
    const binErr = await expectSigningError(loadSigner({ keyFile: keyring }));
    expect(binErr.message).toMatch(/not a private key/);

    const secretish = 'lQVYBGZ0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0';
    const garbage = `-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n${secretish}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\n`;
    const gErr = await expectSigningError(loadSigner({ keyArmored: garbage }));
    expect(gErr.message).toMatch(/cannot be parsed/);
    expect(gErr.message).not.toContain(secretish);
    expect(gErr.cause).toBeUndefined();

    const notArmor = await expectSigningError(loadSigner({ keyArmored: secretish }));
    expect(notArmor.message).not.toContain(secretish);

    // A CI secret that arrives with literal "\n" escapes still loads.
    const escaped = pair.privateArmored.replace(/\n/g, '\\n');
    expect(escaped).not.toContain('\n');
    expect((await loadSigner({ keyArmored: escaped })).signer.fingerprint).toBe(pair.fingerprint);

    const missing = await expectSigningError(loadSigner({ keyFile: `${home.dir}/nope.asc` }));
    expect(missing.message).toMatch(/no such file/);
    const none = await expectSigningError(loadSigner({}));
    expect(none.message).toMatch(/PKGPUB_SIGNING_KEY/);
  });

  it('the signer never shows secret material when printed', async () => {
    const pair = await generateKeyPair({ name: 'Quiet', email: 'quiet@pkgpub.test', type: 'rsa4096' });
    const { signer } = await loadSigner({ keyArmored: pair.privateArmored });
    const shown = [
      String(signer),
      `${signer}`,
      JSON.stringify(signer),
      inspect(signer, { depth: 20, showHidden: true }),
      inspect({ signer }, { depth: 20 }),
      JSON.stringify({ ...signer }),
    ].join('\n');
    expect(shown).toContain(signer.fingerprint);
    const secretLines = pair.privateArmored
      .split('\n')
      .filter((l) => l.length >= 16 && !l.startsWith('-----') && !pair.publicArmored.includes(l));
    expect(secretLines.length).toBeGreaterThan(5);
    for (const line of secretLines) expect(shown).not.toContain(line);
    expect(shown).not.toMatch(/privateParams|BEGIN PGP PRIVATE/);
  });
});

describe('hash choice', () => {
  it('uses SHA512 when the key lists it, and the digest header of InRelease matches', async () => {
    const pair = await generateKeyPair({ name: 'H', email: 'h@pkgpub.test', type: 'ed25519' });
    const key = await readPrivateKey({ armoredKey: pair.privateArmored });
    const prefs = (await key.getPrimaryUser()).selfCertification.preferredHashAlgorithms ?? [];
    const { signer } = await loadSigner({ keyArmored: pair.privateArmored });
    const sigs = signaturePackets(
      home,
      home.file('hash.asc', await signer.detachSignArmored(new Uint8Array([1]))),
    );
    expect(sigs[0]!.digestAlgo).toBe(prefs.includes(enums.hash.sha512) ? 10 : 8);
    const clear = await signer.clearsign('A: b\n');
    expect(clear).toMatch(prefs.includes(enums.hash.sha512) ? /^Hash: SHA512$/m : /^Hash: SHA256$/m);
    // Like gpg --clearsign: the final LF of the text is the separator, not an extra blank line.
    expect(clear).toContain('A: b\n-----BEGIN PGP SIGNATURE-----');
  });
});

describe('apt sqv', () => {
  itWithTools(
    'sqv (apt >= 2.9 verifier) accepts our detached signatures',
    toolsMissing(['sqv'], 'apt-get install sqv'),
    async () => {
      for (const type of ['ed25519', 'rsa4096'] as const) {
        const pair = await generateKeyPair({ name: 'Sqv', email: `sqv-${type}@pkgpub.test`, type });
        const { signer } = await loadSigner({ keyArmored: pair.privateArmored });
        const keyring = keyringFor(home, signer.publicKeyArmored(), `sqv-${type}.gpg`);
        const data = new TextEncoder().encode(RELEASE);
        const dataFile = home.file(`sqv-${type}-Release`, data);
        const asc = home.file(`sqv-${type}-Release.gpg`, await signer.detachSignArmored(data));
        const r = sqv(keyring, asc, dataFile);
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout.trim()).toBe(signer.fingerprint);
        const bad = home.file(`sqv-${type}-Release.bad`, RELEASE.replace('stable', 'testing'));
        expect(sqv(keyring, asc, bad).status).not.toBe(0);
        // Signatures made from a reader's digest (SHA-256) satisfy sqv's policy too.
        const t = signer.prehashTemplate()!;
        const pre = await signer.signPrehashed(t, prehashDigest(createHash('sha256').update(data), t));
        const preFile = home.file(`sqv-${type}-Release.pre.asc`, pre);
        const rp = sqv(keyring, preFile, dataFile);
        expect(rp.status, rp.stderr).toBe(0);
        expect(sqv(keyring, preFile, bad).status).not.toBe(0);
      }
    },
  );
});
