import { createHash } from 'node:crypto';
import { encryptKey, enums, generateKey, type PrivateKey, readSignature } from 'openpgp';
import { SigningError } from '../errors.js';
import {
  splitV4Signature,
  v4SignaturePacketWith,
  v4Trailer,
  withoutCriticalBit,
} from '../formats/pgp-signature-encode.js';
import { digestSignerFor } from './digest-signer.js';
import { libraryReason } from './openpgp-signer.js';

export interface GenerateKeyPairOptions {
  name: string;
  email: string;
  type: 'ed25519' | 'rsa4096';
  /** Encrypts the secret key (iterated+salted S2K, AES, what gpg 2.2 reads). */
  passphrase?: string;
  /** Days until the key expires; absent or 0 means it never does. */
  expiresInDays?: number;
  /** Creation time (tests make already-expired or soon-expiring keys with it). */
  now?: Date;
}

export interface GeneratedKeyPair {
  privateArmored: string;
  publicArmored: string;
  /** 40 hex digits, upper case. */
  fingerprint: string;
}

/**
 * Makes a v4 repository signing key: a single primary key with certify+sign flags and no
 * encryption subkey (a repo key never decrypts anything). Ed25519 is the legacy EdDSA form that
 * gpg 2.2, apt's sqv and rpm 4.18 all verify; RFC 9580 v6 keys are never made.
 */
export async function generateKeyPair(opts: GenerateKeyPairOptions): Promise<GeneratedKeyPair> {
  const days = opts.expiresInDays ?? 0;
  if (!Number.isInteger(days) || days < 0) {
    throw new SigningError(`key expiry must be a whole number of days >= 0, got ${opts.expiresInDays}`);
  }
  if (opts.name.trim() === '' && opts.email.trim() === '') {
    throw new SigningError('a key needs a name or an email for its user id');
  }
  const algo =
    opts.type === 'ed25519'
      ? ({ type: 'ecc', curve: 'ed25519Legacy' } as const)
      : ({ type: 'rsa', rsaBits: 4096 } as const);
  const userID = { ...(opts.name ? { name: opts.name } : {}), ...(opts.email ? { email: opts.email } : {}) };
  let privateKey: PrivateKey;
  try {
    ({ privateKey } = await generateKey({
      ...algo,
      userIDs: [userID],
      subkeys: [],
      keyExpirationTime: days * 86_400,
      ...(opts.now ? { date: opts.now } : {}),
      format: 'object',
      config: { v6Keys: false, aeadProtect: false },
    }));
    if (privateKey.keyPacket.version !== 4) throw new SigningError('openpgp.js made a non-v4 key');
    if (days > 0) await recertifyWithNonCriticalExpiry(privateKey);
    if (opts.passphrase)
      privateKey = await encryptKey({
        privateKey,
        passphrase: opts.passphrase,
        config: { aeadProtect: false, v6Keys: false },
      });
  } catch (err) {
    if (err instanceof SigningError) throw err;
    throw new SigningError(`key generation failed: ${libraryReason(err)}`);
  }
  return {
    privateArmored: privateKey.armor(),
    publicArmored: privateKey.toPublic().armor(),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
  };
}

const KEY_EXPIRATION_SUBPACKET = 9;

/**
 * openpgp.js marks the key-expiration subpacket critical; rpm 4.18's own OpenPGP parser refuses
 * critical subpackets it does not handle, so `rpmkeys --import` (and with it dnf's gpgkey=) fails
 * on such a key. gpg writes the subpacket non-critical. This re-makes the self-certification with
 * the same subpackets, that one bit cleared, over SHA-256, signed with the new key itself.
 */
async function recertifyWithNonCriticalExpiry(key: PrivateKey): Promise<void> {
  const user = key.users[0];
  const cert = user?.selfCertifications[0];
  const signer = digestSignerFor(key.keyPacket as never);
  if (!user?.userID || !cert || !signer) throw new SigningError('cannot re-certify the new key');
  const { hashedPart, unhashedArea } = splitV4Signature(writePacket(cert));
  const patched = withoutCriticalBit(hashedPart, KEY_EXPIRATION_SUBPACKET);
  patched[3] = enums.hash.sha256;
  // RFC 9580 §5.2.4: a v4 certification hashes the key (0x99, 2-octet length) and the user id
  // (0xB4, 4-octet length) before the signature's own trailer.
  const pub = writePacket(key.toPublic().keyPacket);
  const uid = new TextEncoder().encode(user.userID.userID);
  const keyHead = Buffer.from([0x99, pub.length >> 8, pub.length & 0xff]);
  const uidHead = Buffer.alloc(5);
  uidHead[0] = 0xb4;
  uidHead.writeUInt32BE(uid.length, 1);
  const digest = createHash('sha256')
    .update(keyHead)
    .update(pub)
    .update(uidHead)
    .update(uid)
    .update(v4Trailer(patched))
    .digest();
  const packet = v4SignaturePacketWith(patched, unhashedArea, digest, signer.signDigest(digest));
  user.selfCertifications = [...(await readSignature({ binarySignature: packet })).packets];
  // openpgp.js must accept the new certification, and still see the expiry.
  await key.verifyPrimaryKey(key.getCreationTime());
  if (!((await key.getExpirationTime()) instanceof Date))
    throw new SigningError('the re-certified key lost its expiry');
}

function writePacket(p: unknown): Uint8Array {
  return (p as { write(): Uint8Array }).write();
}
