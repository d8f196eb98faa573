import {
  type AlgorithmInfo,
  enums,
  type PrivateKey,
  type PublicKey,
  type SignaturePacket,
  type Subkey,
} from 'openpgp';
import { SigningError } from '../errors.js';
import { hashFor, STRONG_HASHES } from './openpgp-signer.js';

/** A key this close to expiry still signs, with a warning on every run. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;
const MIN_RSA_BITS = 3072;

/**
 * What to do about an expiring key; users' copies of the public key must be refreshed too.
 * Not gpg --quick-set-expire: publish writes keys/<project>-<id>.asc as an immutable blob, so a key
 * extended elsewhere conflicts there; `keys extend` publishes the new copy itself.
 */
const REFRESH =
  'extend it with `pkgpub keys extend --days N --out FILE` (which publishes the extended public key too), or make a new one with `pkgpub keys generate`';

export interface KeyHealth<K extends PublicKey = PrivateKey> {
  /** The (sub)key gpg would sign with: the newest valid signing-capable subkey, else the primary. */
  signingKey: K | Subkey;
  hashAlgorithm: number;
  warnings: string[];
}

/**
 * Judges a parsed key against what apt (sqv), gpgv and rpm 4.18 accept, using public parts only,
 * so it runs before the passphrase is asked for (and on published public keys: `keys check`).
 * Throws one-line SigningErrors; never echoes key material (only fingerprints, dates and
 * algorithm names). `warnDays`: how close to expiry a key is warned about.
 */
export async function assessKey<K extends PublicKey>(
  key: K,
  now: Date,
  warnDays = EXPIRY_WARNING_DAYS,
): Promise<KeyHealth<K>> {
  const fpr = key.getFingerprint().toUpperCase();
  const primary = key.keyPacket;
  if (primary.version !== 4) {
    throw new SigningError(
      `signing key ${fpr} is a v${primary.version} key; apt's sqv, gpg 2.2 and rpm 4.18 need v4 keys`,
    );
  }
  refuseWeak(fpr, 'signing key', key.getAlgorithmInfo());

  if (await key.isRevoked(undefined, undefined, now)) {
    throw new SigningError(`signing key ${fpr} is revoked; make a new one with \`pkgpub keys generate\``);
  }
  // openpgp.js silently ignores SHA-1 self-signatures, which would surface as "no valid
  // self-signature"; name the real reason first.
  const selfCerts = key.users.flatMap((u) => u.selfCertifications);
  const strongCert = selfCerts.find((c) => c.hashAlgorithm !== null && STRONG_HASHES.has(c.hashAlgorithm));
  if (selfCerts.length > 0 && strongCert === undefined)
    refuseSha1Binding(fpr, 'self-signature', selfCerts[0]!);
  const expires = await key.getExpirationTime();
  if (expires === null) {
    throw new SigningError(`signing key ${fpr} has no valid self-signature; it cannot be used`);
  }
  if (expires instanceof Date && expires.getTime() <= now.getTime()) {
    throw new SigningError(`signing key ${fpr} expired on ${day(expires)}; ${REFRESH}`);
  }
  if (key.getCreationTime().getTime() > now.getTime()) {
    throw new SigningError(`signing key ${fpr} is created in the future (${day(key.getCreationTime())})`);
  }

  let selfCert: SignaturePacket;
  try {
    selfCert = (await key.getPrimaryUser(now)).selfCertification;
  } catch {
    throw new SigningError(`signing key ${fpr} has no valid user id self-signature at ${day(now)}`);
  }
  refuseSha1Binding(fpr, 'self-signature', selfCert);

  const signingKey = await pickSigningKey(key, fpr, now);
  const sub = signingKey === key ? null : (signingKey as Subkey);
  if (sub) {
    const subFpr = sub.getFingerprint().toUpperCase();
    refuseWeak(fpr, `signing subkey ${subFpr} of key`, sub.getAlgorithmInfo());
    const binding = await sub.verify(now).catch(() => {
      throw new SigningError(`signing subkey ${subFpr} of key ${fpr} has no valid binding signature`);
    });
    refuseSha1Binding(fpr, `binding signature of subkey ${subFpr}`, binding);
    if (binding.embeddedSignature) {
      refuseSha1Binding(fpr, `back-signature of subkey ${subFpr}`, binding.embeddedSignature);
    }
  }
  const packet = signingKey.keyPacket;
  if ('isDummy' in packet && packet.isDummy()) {
    throw new SigningError(
      `the secret part of signing key ${signingKey.getFingerprint().toUpperCase()} is not in this export (a stub); export the signing subkey's secret`,
    );
  }

  const warnings: string[] = [];
  if (
    primary.algorithm === enums.publicKey.ed25519 ||
    signingKey.keyPacket.algorithm === enums.publicKey.ed25519
  ) {
    warnings.push(
      `signing key ${fpr} uses RFC 9580 Ed25519, which gpg 2.2, apt on Debian 12 and rpm 4.18 cannot verify; prefer a legacy EdDSA or RSA key`,
    );
  }
  const subExpires = sub ? await sub.getExpirationTime(now) : Infinity;
  const soonest = earliest(expires, subExpires);
  if (soonest !== null && soonest.getTime() - now.getTime() < warnDays * DAY_MS) {
    const which =
      soonest === expires ? `signing key ${fpr}` : `signing subkey ${sub!.getFingerprint().toUpperCase()}`;
    warnings.push(`${which} expires on ${day(soonest)}; ${REFRESH} before then`);
  }
  return { signingKey, hashAlgorithm: hashFor(selfCert.preferredHashAlgorithms), warnings };
}

/** Allowed: RSA of 3072 bits or more, EdDSA on Ed25519 (legacy v4 form) and RFC 9580 Ed25519. */
function refuseWeak(fpr: string, what: string, info: AlgorithmInfo): void {
  const alg = info.algorithm;
  if (alg === 'rsaEncryptSign' || alg === 'rsaSign') {
    const bits = info.bits ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new SigningError(
        `${what} ${fpr} is too weak: RSA ${bits} bits (at least ${MIN_RSA_BITS} needed); make a new one with \`pkgpub keys generate\``,
      );
    }
    return;
  }
  if (alg === 'eddsaLegacy' && info.curve === 'ed25519Legacy') return;
  if (alg === 'ed25519') return;
  const name = alg === 'eddsaLegacy' || alg === 'ecdsa' ? `${alg} on ${info.curve ?? 'unknown curve'}` : alg;
  throw new SigningError(
    `${what} ${fpr} uses ${name}, which is refused (only RSA >= ${MIN_RSA_BITS} bits and Ed25519 are accepted); make a new one with \`pkgpub keys generate\``,
  );
}

/** sqv's policy rejects SHA-1 binding signatures since 2023-02-01, which makes the whole certificate unusable for apt. */
function refuseSha1Binding(fpr: string, what: string, sig: SignaturePacket): void {
  if (sig.hashAlgorithm !== null && STRONG_HASHES.has(sig.hashAlgorithm)) return;
  const name =
    sig.hashAlgorithm === null ? 'unknown' : (enums.read(enums.hash, sig.hashAlgorithm) ?? 'unknown');
  throw new SigningError(
    `signing key ${fpr}: its ${what} uses ${String(name).toUpperCase()}, which apt's sqv rejects; re-certify it with \`pkgpub keys extend --days N --out FILE\` or make a new one with \`pkgpub keys generate\``,
  );
}

async function pickSigningKey<K extends PublicKey>(key: K, fpr: string, now: Date): Promise<K | Subkey> {
  try {
    return await key.getSigningKey(undefined, now);
  } catch {
    // openpgp.js does not say why; find the reason among the keys that could have signed.
  }
  for (const sub of key.subkeys) {
    const subFpr = sub.getFingerprint().toUpperCase();
    const flags = sub.bindingSignatures.at(-1)?.keyFlags?.[0] ?? 0;
    if ((flags & enums.keyFlags.signData) === 0) continue;
    const exp = await sub.getExpirationTime(now).catch(() => null);
    if (exp instanceof Date && exp.getTime() <= now.getTime()) {
      throw new SigningError(`signing subkey ${subFpr} of key ${fpr} expired on ${day(exp)}; ${REFRESH}`);
    }
    if (sub.revocationSignatures.length > 0) {
      throw new SigningError(`signing subkey ${subFpr} of key ${fpr} is revoked; add a new signing subkey`);
    }
  }
  throw new SigningError(
    `key ${fpr} has no key usable for signing (neither a valid signing subkey nor a primary key with the sign flag)`,
  );
}

function earliest(a: Date | number | null, b: Date | number | null): Date | null {
  const dates = [a, b].filter((d): d is Date => d instanceof Date);
  if (dates.length === 0) return null;
  return dates.reduce((x, y) => (y.getTime() < x.getTime() ? y : x));
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
