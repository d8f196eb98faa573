import { enums, readPrivateKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SigningError } from '../../src/errors.js';
import { extendKey, unlockForExtend } from '../../src/signing/extend-key.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { type GpgHome, gpgv, keyringFor, listKeys, makeGpgHome, sqv } from '../support/gpg.js';
import { itWithTools, toolsMissing } from '../support/tools.js';

const DAY = 86_400_000;
const PASS = 'extend-me';

let gh: GpgHome;
beforeAll(() => {
  gh = makeGpgHome();
  // The agent's calibrated S2K count (tens of millions) makes every unlock in openpgp.js take seconds.
  gh.file('gpg-agent.conf', 's2k-count 65536\n');
});
afterAll(() => gh?.cleanup());

const loop = ['--pinentry-mode', 'loopback', '--passphrase', PASS];

/** Secret key packets (tags 5 and 7) of a binary key: what must survive an extension byte for byte. */
function secretPackets(key: Awaited<ReturnType<typeof readPrivateKey>>): string[] {
  return key
    .toPacketList()
    .filter((p) => p.constructor.name === 'SecretKeyPacket' || p.constructor.name === 'SecretSubkeyPacket')
    .map((p) => Buffer.from((p as unknown as { write(): Uint8Array }).write()).toString('hex'));
}

describe('extendKey (gpg as the judge)', () => {
  itWithTools(
    'a passphrase-protected gpg key with a SHA-1 self-signature and a signing subkey',
    toolsMissing(['gpg', 'gpgv', 'sqv']),
    async () => {
      gh.gpgOk([
        ...loop,
        '--cert-digest-algo',
        'SHA1',
        '--quick-gen-key',
        'Ext <ext@pkgpub.test>',
        'ed25519',
        'cert',
        '20d',
      ]);
      const primary = listKeys(gh, true).at(-1)!.fpr;
      gh.gpgOk([...loop, '--quick-add-key', primary, 'ed25519', 'sign', '10d']);
      const armored = gh.gpgOk([...loop, '--armor', '--export-secret-keys', primary]);
      const key = await readPrivateKey({ armoredKey: armored });
      // publish refuses it as it is.
      await expect(loadSigner({ keyArmored: armored, passphrase: PASS })).rejects.toThrow(
        /self-signature uses SHA1/,
      );

      const now = new Date();
      const wanted = new Date(now.getTime() + 400 * DAY);
      const unlocked = await unlockForExtend(key, PASS);
      await expect(unlockForExtend(key, 'not it')).rejects.toThrow(
        /^wrong passphrase for signing key [0-9A-F]{40}$/,
      );
      const before = secretPackets(key);
      const ext = await extendKey({ key, unlocked, expires: wanted, now });
      expect(ext.previousExpiry!.getTime()).toBeGreaterThan(now.getTime() + 19 * DAY);
      expect(Math.abs(ext.expires.getTime() - wanted.getTime())).toBeLessThan(1000);

      // Same fingerprint, the same secret packets (still under the same passphrase), new signatures.
      const written = ext.key.armor();
      const again = await readPrivateKey({ armoredKey: written });
      expect(again.getFingerprint()).toBe(key.getFingerprint());
      expect(again.isDecrypted()).toBe(false);
      expect(secretPackets(again)).toEqual(before);
      for (const u of again.users)
        for (const s of u.selfCertifications) expect(s.hashAlgorithm).toBe(enums.hash.sha256);
      for (const s of again.subkeys[0]!.bindingSignatures) expect(s.hashAlgorithm).toBe(enums.hash.sha256);

      // gpg reads the new expiry on both keys, and the critical bit stays off the expiry subpacket (rpm 4.18).
      const packets = gh.gpgOk(['--list-packets'], written);
      expect(packets).not.toMatch(/critical hashed subpkt 9/);
      const colons = gh.gpgOk(['--with-colons', '--show-keys'], ext.key.toPublic().armor());
      const expiries = colons
        .split('\n')
        .filter((l) => /^(pub|sub):/.test(l))
        .map((l) => Number(l.split(':')[6]) * 1000);
      expect(expiries).toEqual([ext.expires.getTime(), ext.expires.getTime()]);

      // publish signs with it, through the subkey; gpgv and sqv accept with the new public key.
      const { signer } = await loadSigner({ keyArmored: written, passphrase: PASS });
      expect(signer.signingKeyFingerprint).toBe(key.subkeys[0]!.getFingerprint().toUpperCase());
      const data = new TextEncoder().encode('Release text\n');
      const dataFile = gh.file('ext-data', data);
      const sig = gh.file('ext-data.gpg', await signer.detachSignBinary(data));
      const ring = keyringFor(gh, signer.publicKeyArmored(), 'ext.gpg');
      expect(gpgv(gh, ring, sig, dataFile).status).toBe(0);
      const sq = sqv(ring, sig, dataFile);
      expect(sq.status, sq.stderr).toBe(0);
      // gpg takes the secret back with the old passphrase.
      gh.gpgOk([...loop, '--import'], written);
    },
  );

  it('a revoked key is not brought back', async () => {
    const { generateKey } = await import('openpgp');
    const { privateKey } = await generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'R', email: 'r@pkgpub.test' }],
      format: 'object',
    });
    const revoked = await privateKey.revoke();
    const now = new Date();
    await expect(
      extendKey({ key: revoked, unlocked: revoked, expires: new Date(now.getTime() + DAY), now }),
    ).rejects.toBeInstanceOf(SigningError);
  });
});
