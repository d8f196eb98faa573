import {
  constants,
  createPublicKey,
  type KeyObject,
  publicDecrypt,
  verify as cryptoVerify,
} from 'node:crypto';

/**
 * The cryptographic half of a v4 signature check, given the digest of the data and trailer: no
 * openpgp.js here, so that the hashing workers (hash-files.ts) can finish a check themselves.
 */

/** A signing (sub)key as node:crypto holds it. KeyObjects pass to worker threads by postMessage. */
export interface DigestKey {
  algo: number;
  key: KeyObject;
  /** The RSA modulus's length in bytes (32 for Ed25519). */
  bytes: number;
}

/** Everything about one signature that its digest is checked against. */
export interface DigestCheck {
  key: DigestKey;
  /** node:crypto's name of the signature's hash. */
  hash: string;
  signedHashValue: Uint8Array;
  params: Record<string, Uint8Array>;
}

/** True when the signature signs this digest (of the data followed by the signature's trailer). */
export function digestVerifies(c: DigestCheck, digest: Buffer): boolean {
  if (digest[0] !== c.signedHashValue[0] || digest[1] !== c.signedHashValue[1]) return false;
  const k = c.key;
  try {
    if (k.algo === EDDSA_LEGACY) {
      const rs = Buffer.concat([leftPad(c.params.r, 32), leftPad(c.params.s, 32)]);
      return cryptoVerify(null, digest, k.key, rs);
    }
    if (k.algo === ED25519) return cryptoVerify(null, digest, k.key, Buffer.from(c.params.RS ?? []));
    const prefix = DIGEST_INFO[c.hash];
    if (!prefix) return false;
    const decoded = publicDecrypt(
      { key: k.key, padding: constants.RSA_PKCS1_PADDING },
      leftPad(c.params.s, k.bytes),
    );
    return decoded.equals(Buffer.concat([Buffer.from(prefix, 'hex'), digest]));
  } catch {
    return false;
  }
}

/** DER DigestInfo prefixes (RFC 8017 §9.2, note 1) for the RSA check. */
const DIGEST_INFO: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
  sha224: '302d300d06096086480165030402040500041c',
};

const RSA = [1, 3];
const EDDSA_LEGACY = 22;
const ED25519 = 27;

/** node:crypto's form of an OpenPGP public key of an algorithm this path knows; else undefined. */
export function nodeKey(algo: number, params: Record<string, Uint8Array>): DigestKey | undefined {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  try {
    if (algo === EDDSA_LEGACY && params.Q?.[0] === 0x40 && params.Q.length === 33)
      return {
        algo,
        bytes: 32,
        key: createPublicKey({
          key: { kty: 'OKP', crv: 'Ed25519', x: b64(params.Q.subarray(1)) },
          format: 'jwk',
        }),
      };
    if (algo === ED25519 && params.A?.length === 32)
      return {
        algo,
        bytes: 32,
        key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64(params.A) }, format: 'jwk' }),
      };
    if (RSA.includes(algo) && params.n && params.e)
      return {
        algo,
        bytes: stripZeros(params.n).length,
        key: createPublicKey({
          key: { kty: 'RSA', n: b64(stripZeros(params.n)), e: b64(stripZeros(params.e)) },
          format: 'jwk',
        }),
      };
  } catch {
    return undefined;
  }
  return undefined;
}

function stripZeros(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

function leftPad(b: Uint8Array | undefined, size: number): Buffer {
  const bytes = stripZeros(b ?? new Uint8Array());
  if (bytes.length >= size) return Buffer.from(bytes);
  return Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);
}
