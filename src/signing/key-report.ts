import {
  type AlgorithmInfo,
  enums,
  type PublicKey,
  readKeys,
  type SignaturePacket,
  type Subkey,
} from 'openpgp';
import { SigningError } from '../errors.js';
import { assessKey } from './key-health.js';

const DAY_MS = 86_400_000;

/** One self-signature, subkey binding or back-signature, as `keys check` prints it. */
export interface SignatureFacts {
  kind: 'self-signature' | 'subkey-binding' | 'back-signature';
  /** The user id a self-signature certifies; the subkey's fingerprint for the other two kinds. */
  on: string;
  /** SHA256, SHA512, SHA1...: what sqv's policy looks at. */
  hash: string;
  created: string | null;
}

export interface SubkeyFacts {
  fingerprint: string;
  algorithm: string;
  bits: number | null;
  curve: string | null;
  created: string;
  /** null: never expires (per its newest binding). */
  expires: string | null;
  daysLeft: number | null;
  /** From the newest binding's key flags: certify, sign, encrypt, authenticate. */
  capabilities: string[];
  revoked: boolean;
  /** Its binding verifies at the time of the check, and it has neither expired nor been revoked. */
  usable: boolean;
}

export type Verdict = 'ok' | 'warning' | 'error';

export interface KeyReport {
  fingerprint: string;
  algorithm: string;
  bits: number | null;
  curve: string | null;
  created: string;
  /** From the newest self-signature, verified or not (a SHA-1 one still says when it ends); null: never. */
  expires: string | null;
  daysLeft: number | null;
  userIds: string[];
  revoked: boolean;
  signatures: SignatureFacts[];
  subkeys: SubkeyFacts[];
  /** The (sub)key publish would sign with; null when the key cannot sign. */
  signsWith: string | null;
  status: Verdict;
  /** publish's own rules (key-health.ts): at most one error, the first it meets. */
  errors: string[];
  warnings: string[];
}

/**
 * Describes a key (public parts only) and judges it with exactly the rules publish enforces
 * (`assessKey`), warning `warnDays` ahead of expiry instead of publish's 30.
 */
export async function reportKey(key: PublicKey, now: Date, warnDays: number): Promise<KeyReport> {
  const errors: string[] = [];
  let warnings: string[] = [];
  let signsWith: string | null = null;
  try {
    const health = await assessKey(key, now, warnDays);
    warnings = health.warnings;
    signsWith = health.signingKey.getFingerprint().toUpperCase();
  } catch (err) {
    if (!(err instanceof SigningError)) throw err;
    errors.push(err.message);
  }
  const created = key.getCreationTime();
  const expires = expiryOf(created, newest(key.users.flatMap((u) => u.selfCertifications)));
  const signatures: SignatureFacts[] = [];
  for (const u of key.users)
    for (const s of u.selfCertifications)
      signatures.push(sigFacts('self-signature', u.userID?.userID ?? '(user attribute)', s));
  const subkeys: SubkeyFacts[] = [];
  for (const sub of key.subkeys) {
    const fpr = sub.getFingerprint().toUpperCase();
    for (const b of sub.bindingSignatures) {
      signatures.push(sigFacts('subkey-binding', fpr, b));
      if (b.embeddedSignature) signatures.push(sigFacts('back-signature', fpr, b.embeddedSignature));
    }
    subkeys.push(await subkeyFacts(sub, now));
  }
  const revoked = await key.isRevoked(undefined, undefined, now).catch(() => false);
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    ...algorithmFacts(key.getAlgorithmInfo()),
    created: created.toISOString(),
    expires: expires?.toISOString() ?? null,
    daysLeft: daysLeft(expires, now),
    userIds: key.getUserIDs(),
    revoked,
    signatures,
    subkeys,
    signsWith,
    status: errors.length > 0 ? 'error' : warnings.length > 0 ? 'warning' : 'ok',
    errors,
    warnings,
  };
}

/** Every key an armored (or binary) key file holds; a file that does not parse throws a SigningError. */
export async function keysIn(bytes: Uint8Array, name: string): Promise<PublicKey[]> {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  try {
    const keys = head.includes('-----BEGIN PGP')
      ? await readKeys({ armoredKeys: Buffer.from(bytes).toString('utf8') })
      : await readKeys({ binaryKeys: bytes });
    return keys.map((k) => (k.isPrivate() ? k.toPublic() : (k as PublicKey)));
  } catch {
    throw new SigningError(`${name} cannot be parsed as OpenPGP keys`);
  }
}

/**
 * When the key (or subkey) a signature binds stops being valid, read from the signature itself:
 * null when it never expires or there is no signature. openpgp.js would not tell for a SHA-1
 * self-signature, which it refuses to verify.
 */
export function expiryOf(created: Date, sig: SignaturePacket | undefined): Date | null {
  if (!sig || sig.keyNeverExpires || !sig.keyExpirationTime) return null;
  return new Date(created.getTime() + sig.keyExpirationTime * 1000);
}

/** The newest of some signatures (by creation time). */
export function newest(sigs: readonly SignaturePacket[]): SignaturePacket | undefined {
  let best: SignaturePacket | undefined;
  for (const s of sigs) if (!best || (s.created?.getTime() ?? 0) >= (best.created?.getTime() ?? 0)) best = s;
  return best;
}

/** "RSA 4096", "EdDSA ed25519 (legacy)", "Ed25519": the words gpg users recognise. */
export function algorithmLabel(r: { algorithm: string; bits: number | null; curve: string | null }): string {
  if (r.algorithm.startsWith('rsa')) return `RSA ${r.bits ?? '?'}`;
  if (r.algorithm === 'eddsaLegacy')
    return `EdDSA ${r.curve === 'ed25519Legacy' ? 'ed25519' : r.curve} (legacy)`;
  if (r.algorithm === 'ed25519') return 'Ed25519';
  if (r.algorithm === 'ecdh') return `ECDH ${r.curve === 'curve25519Legacy' ? 'cv25519' : r.curve}`;
  return r.curve ? `${r.algorithm} ${r.curve}` : r.algorithm;
}

async function subkeyFacts(sub: Subkey, now: Date): Promise<SubkeyFacts> {
  const created = sub.getCreationTime();
  const binding = newest(sub.bindingSignatures);
  const expires = expiryOf(created, binding);
  const flags = binding?.keyFlags?.[0] ?? 0;
  const capabilities = (
    [
      [enums.keyFlags.certifyKeys, 'certify'],
      [enums.keyFlags.signData, 'sign'],
      [enums.keyFlags.encryptCommunication | enums.keyFlags.encryptStorage, 'encrypt'],
      [enums.keyFlags.authentication, 'authenticate'],
    ] as const
  )
    .filter(([bit]) => (flags & bit) !== 0)
    .map(([, name]) => name);
  const usable = await sub.verify(now).then(
    () => true,
    () => false,
  );
  return {
    fingerprint: sub.getFingerprint().toUpperCase(),
    ...algorithmFacts(sub.getAlgorithmInfo()),
    created: created.toISOString(),
    expires: expires?.toISOString() ?? null,
    daysLeft: daysLeft(expires, now),
    capabilities,
    revoked: sub.revocationSignatures.length > 0,
    usable,
  };
}

function sigFacts(kind: SignatureFacts['kind'], on: string, s: SignaturePacket): SignatureFacts {
  const name = s.hashAlgorithm === null ? undefined : enums.read(enums.hash, s.hashAlgorithm);
  return {
    kind,
    on,
    hash: name ? String(name).toUpperCase() : `unknown (${s.hashAlgorithm})`,
    created: s.created?.toISOString() ?? null,
  };
}

function algorithmFacts(info: AlgorithmInfo): {
  algorithm: string;
  bits: number | null;
  curve: string | null;
} {
  return { algorithm: info.algorithm, bits: info.bits ?? null, curve: info.curve ?? null };
}

/** Whole days left, rounded down; negative once expired. */
function daysLeft(expires: Date | null, now: Date): number | null {
  return expires ? Math.floor((expires.getTime() - now.getTime()) / DAY_MS) : null;
}
