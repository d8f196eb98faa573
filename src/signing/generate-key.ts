import { generateKey, type PrivateKey, type PublicKey } from 'openpgp';
import { SigningError } from '../errors.js';
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
  let publicKey: PublicKey;
  try {
    ({ privateKey, publicKey } = await generateKey({
      ...algo,
      userIDs: [userID],
      subkeys: [],
      keyExpirationTime: days * 86_400,
      ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
      ...(opts.now ? { date: opts.now } : {}),
      format: 'object',
      config: { v6Keys: false, aeadProtect: false },
    }));
  } catch (err) {
    throw new SigningError(`key generation failed: ${libraryReason(err)}`);
  }
  if (privateKey.keyPacket.version !== 4) throw new SigningError('openpgp.js made a non-v4 key');
  return {
    privateArmored: privateKey.armor(),
    publicArmored: publicKey.armor(),
    fingerprint: privateKey.getFingerprint().toUpperCase(),
  };
}
