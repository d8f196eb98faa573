import { constants, createPrivateKey, type KeyObject, privateEncrypt, sign } from 'node:crypto';
import { mpi } from '../formats/pgp-signature-encode.js';

/**
 * Signs a digest computed elsewhere, with Node's crypto. openpgp.js only signs data it hashes
 * itself, which for a 20 MB package means a second pass over the file on the main thread; with
 * this the reader's own hashing pass yields the digest and only the signature itself is left.
 */
export interface DigestSigner {
  /** OpenPGP public-key algorithm id. */
  readonly pubkeyAlgo: number;
  /** The algorithm-specific signature fields of a v4 signature packet over `digest`. */
  signDigest(digest: Uint8Array): Uint8Array;
  /**
   * What another thread needs to make the same signatures (signDigestWith): Node passes a
   * KeyObject to a worker thread as a clone, within this process.
   */
  readonly portable: PortableDigestKey;
}

export interface PortableDigestKey {
  pubkeyAlgo: number;
  key: KeyObject;
}

/** signDigest, given only the portable key (on a worker thread). */
export function signDigestWith(k: PortableDigestKey, digest: Uint8Array): Uint8Array {
  if (RSA_SIGN.includes(k.pubkeyAlgo))
    return mpi(
      privateEncrypt(
        { key: k.key, padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, digest]),
      ),
    );
  const rs = sign(null, digest, k.key);
  // Legacy EdDSA carries R and S as two MPIs; RFC 9580 Ed25519 as 64 raw bytes.
  return k.pubkeyAlgo === EDDSA_LEGACY ? Buffer.concat([mpi(rs.subarray(0, 32)), mpi(rs.subarray(32))]) : rs;
}

/** True where signing is slow enough to be worth other cores (RSA: ~5 ms per signature at 4096 bits). */
export function isSlowToSign(k: PortableDigestKey): boolean {
  return RSA_SIGN.includes(k.pubkeyAlgo);
}

/** The key packet fields read here; openpgp.js keeps them on every (sub)key packet. */
interface KeyPacketParams {
  algorithm: number;
  publicParams?: Record<string, unknown>;
  privateParams?: Record<string, unknown>;
}

const RSA_SIGN = [1, 3];
const EDDSA_LEGACY = 22;
const ED25519 = 27;

/** DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const big = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`));
const bytesOf = (n: bigint): Uint8Array => {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
};

function bytesParam(params: Record<string, unknown> | undefined, name: string): Uint8Array | undefined {
  const v = params?.[name];
  return v instanceof Uint8Array ? v : undefined;
}

function portableSigner(portable: PortableDigestKey): DigestSigner {
  return { pubkeyAlgo: portable.pubkeyAlgo, portable, signDigest: (d) => signDigestWith(portable, d) };
}

/**
 * A digest signer for an unlocked RSA or Ed25519 key packet; undefined for any other algorithm
 * or a packet whose secret parts are not at hand (the caller then signs through openpgp.js).
 * Only SHA-256 digests: the one hash every reader computes.
 */
export function digestSignerFor(packet: KeyPacketParams): DigestSigner | undefined {
  const pub = packet.publicParams;
  const priv = packet.privateParams;
  if (RSA_SIGN.includes(packet.algorithm)) {
    const [n, e, d, p, q, u] = ['n', 'e', 'd', 'p', 'q', 'u'].map((k) =>
      bytesParam(k === 'n' || k === 'e' ? pub : priv, k),
    );
    if (!n || !e || !d || !p || !q || !u) return undefined;
    // openpgp.js keeps p < q and u = p⁻¹ mod q; JWK wants qi = q⁻¹ mod p, so the primes swap roles.
    const D = big(d);
    const key = createPrivateKey({
      format: 'jwk',
      key: {
        kty: 'RSA',
        n: b64url(n),
        e: b64url(e),
        d: b64url(d),
        p: b64url(q),
        q: b64url(p),
        dp: b64url(bytesOf(D % (big(q) - 1n))),
        dq: b64url(bytesOf(D % (big(p) - 1n))),
        qi: b64url(u),
      },
    });
    return portableSigner({ pubkeyAlgo: packet.algorithm, key });
  }
  if (packet.algorithm === EDDSA_LEGACY || packet.algorithm === ED25519) {
    const seed = bytesParam(priv, 'seed');
    const point = packet.algorithm === ED25519 ? bytesParam(pub, 'A') : bytesParam(pub, 'Q')?.subarray(1); // 0x40 prefix
    if (seed?.length !== 32 || point?.length !== 32) return undefined;
    const key: KeyObject = createPrivateKey({
      format: 'jwk',
      key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(point) },
    });
    return portableSigner({ pubkeyAlgo: packet.algorithm, key });
  }
  return undefined;
}
