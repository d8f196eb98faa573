import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningError } from '../../src/errors.js';
import { assertSignerFits, type KeysState, keyRef, rotationSigner } from '../../src/repos/keys-state.js';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { signatureIssuers } from '../../src/signing/issuers.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { MultiSigner, packageSigner } from '../../src/signing/multi-signer.js';
import { prehashDigest } from '../../src/signing/prehash.js';
import type { Signer } from '../../src/signing/signer.js';
import { type GpgHome, gpgv, keyringFor, makeGpgHome, sqv } from '../support/gpg.js';

const RELEASE = ['Origin: pkgpub', '-Dashed: escaped', 'Suite: stable', ''].join('\n');

let home: GpgHome;
let a: Signer;
let b: Signer;
let both: MultiSigner;
const lower = (s: Signer) => s.signingKeyFingerprint.toLowerCase();

beforeAll(async () => {
  home = makeGpgHome();
  const [ka, kb] = await Promise.all(
    ['a', 'b'].map((n) => generateKeyPair({ name: n, email: `${n}@example.invalid`, type: 'ed25519' })),
  );
  a = (await loadSigner({ keyArmored: ka!.privateArmored })).signer;
  b = (await loadSigner({ keyArmored: kb!.privateArmored })).signer;
  both = new MultiSigner([a, b]);
});
afterAll(() => home?.cleanup());

describe('MultiSigner', () => {
  it('clearsigns with every key in one block that gpgv, holding either key, accepts', async () => {
    const signed = await both.clearsign(RELEASE);
    expect(await signatureIssuers(signed)).toEqual([lower(a), lower(b)]);
    // The cleartext is the one a single key writes.
    const single = await a.clearsign(RELEASE);
    expect(signed.split('-----BEGIN PGP SIGNATURE-----')[0]).toBe(
      single.split('-----BEGIN PGP SIGNATURE-----')[0],
    );
    const file = home.file('InRelease', signed);
    for (const s of [a, b]) {
      const r = gpgv(home, keyringFor(home, s.publicKeyArmored(), `${s.keyId}.gpg`), file);
      expect(r.stderr).toMatch(/Good signature/);
    }
    expect(gpgv(home, keyringFor(home, both.publicKeyArmored(), 'bundle.gpg'), file).status).toBe(0);
  });

  it('detached: every key for armored signatures, the first alone for package signatures', async () => {
    const data = new TextEncoder().encode(RELEASE);
    const detached = await both.detachSignArmored(data);
    expect(await signatureIssuers(detached)).toEqual([lower(a), lower(b)]);
    const dataFile = home.file('Release', data);
    expect(
      sqv(keyringFor(home, b.publicKeyArmored(), 'b.gpg'), home.file('Release.gpg', detached), dataFile)
        .status,
    ).toBe(0);
    const t = both.prehashTemplate()!;
    const digest = prehashDigest(createHash('sha256').update(data), t);
    expect(await signatureIssuers(await both.signPrehashed(t, digest))).toEqual([lower(a)]);
    expect(packageSigner(both)).toBe(a);
    expect(packageSigner(a)).toBe(a);
    expect(both.fingerprint).toBe(a.fingerprint);
  });

  it('publishes both certificates as one armored block, and shows fingerprints only', () => {
    const bundle = both.publicKeyArmored();
    expect(bundle.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----/g)).toHaveLength(1);
    const ring = keyringFor(home, bundle, 'bundle2.gpg');
    const listed = home.gpgOk(['--with-colons', '--show-keys', ring]);
    expect(listed).toContain(a.fingerprint);
    expect(listed).toContain(b.fingerprint);
    expect(JSON.stringify(both)).toBe(JSON.stringify({ fingerprints: [a.fingerprint, b.fingerprint] }));
    expect(String(both)).not.toMatch(/PRIVATE|-----BEGIN/);
  });
});

describe('rotationSigner and assertSignerFits', () => {
  const state = (phase: KeysState['phase']): KeysState => ({
    phase,
    old: keyRef(a),
    new: keyRef(b),
    since: '',
  });

  it('signs as the phase says: old first in add, new first in switch, the new key alone once retired', () => {
    expect(rotationSigner(undefined, [a])).toBe(a);
    const add = rotationSigner(state('add'), [a, b]);
    expect((add as MultiSigner).signers).toEqual([a, b]);
    // Whichever variable holds which key, the fingerprints decide.
    expect((rotationSigner(state('switch'), [a, b]) as MultiSigner).signers).toEqual([b, a]);
    expect(rotationSigner(state('retired'), [b])).toBe(b);
    for (const p of ['add', 'switch', 'retired'] as const) {
      const chosen = rotationSigner(state(p), p === 'retired' ? [b] : [a, b]);
      expect(() => assertSignerFits(state(p), chosen)).not.toThrow();
    }
    expect(() => assertSignerFits(state('switch'), add)).toThrow(/changed while this command ran/);
    expect(() => assertSignerFits(undefined, add)).toThrow(SigningError);
  });

  it('names the missing key by fingerprint, and refuses the retired key', () => {
    expect(() => rotationSigner(state('add'), [a])).toThrow(
      new RegExp(`missing the new key ${b.fingerprint} \\(PKGPUB_NEW_SIGNING_KEY`),
    );
    expect(() => rotationSigner(state('switch'), [b])).toThrow(
      new RegExp(`missing the old key ${a.fingerprint}`),
    );
    expect(() => rotationSigner(state('retired'), [a])).toThrow(/was retired/);
  });
});
