import {
  constants,
  createPublicKey,
  type KeyObject,
  publicDecrypt,
  verify as cryptoVerify,
} from 'node:crypto';
import { readSignature } from 'openpgp';
import type { SignatureCheck, Trust } from './trust.js';

/**
 * A detached signature as far as it can be judged without its data: the hashed part of a v4
 * signature packet (version, type, algorithms, hashed subpackets with the creation time and the
 * issuer) and the trailer a digest of the data is finished with.
 */
export interface DetachedSignature {
  /** Issuer key id and hashed part: signatures sharing it differ only in the data they sign. */
  template: string;
  /** node:crypto's name of the signature's hash. */
  hash: string;
  /** What follows the data in the signed digest (RFC 4880 §5.2.4). */
  trailer: Uint8Array;
  issuer: string;
  pubkeyAlgo: number;
  signedHashValue: Uint8Array;
  params: Record<string, Uint8Array>;
}

const HASHES: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

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

/** Parses a v4 binary-document signature; undefined for anything this fast path does not judge. */
export async function parseDetached(bytes: Uint8Array): Promise<DetachedSignature | undefined> {
  const text = new TextDecoder().decode(bytes.subarray(0, 64));
  let sig: Awaited<ReturnType<typeof readSignature>>;
  try {
    sig = text.includes('-----BEGIN PGP')
      ? await readSignature({ armoredSignature: new TextDecoder().decode(bytes) })
      : await readSignature({ binarySignature: bytes });
  } catch {
    return undefined;
  }
  if (sig.packets.length !== 1) return undefined;
  const p = sig.packets[0] as unknown as {
    version: number;
    signatureType: number;
    publicKeyAlgorithm: number;
    hashAlgorithm: number;
    signatureData: Uint8Array;
    issuerKeyID: { toHex(): string };
    signedHashValue: Uint8Array;
    params: Record<string, Uint8Array> | Promise<unknown>;
  };
  const hash = HASHES[p.hashAlgorithm];
  if (p.version !== 4 || p.signatureType !== 0 || !hash || p.params instanceof Promise) return undefined;
  const len = p.signatureData.length;
  const trailer = new Uint8Array([
    4,
    0xff,
    (len >>> 24) & 255,
    (len >>> 16) & 255,
    (len >>> 8) & 255,
    len & 255,
  ]);
  const issuer = p.issuerKeyID.toHex().toUpperCase();
  return {
    template: `${issuer}:${Buffer.from(p.signatureData).toString('hex')}`,
    hash,
    trailer: Buffer.concat([p.signatureData, trailer]),
    issuer,
    pubkeyAlgo: p.publicKeyAlgorithm,
    signedHashValue: p.signedHashValue,
    params: p.params,
  };
}

/**
 * Judges signatures that share their hashed part with one openpgp.js has judged in full. Such
 * signatures (every .asc of one pkgpub publish: one signing time, one key) differ only in the
 * data, so key validity, expiry, flags and creation time are already settled: what is left is the
 * cryptographic check of the digest, which node:crypto does in microseconds and which the file's
 * own hashing pass (on a worker) has already computed. openpgp.js's own verify of 5,000 small
 * debs cost more than hashing them (bench/verify.ts).
 */
export class SignatureTemplates {
  private readonly judged = new Map<string, SignatureCheck>();
  private readonly keys = new Map<string, { algo: number; key: KeyObject; bytes: number } | null>();
  /** Signatures judged here without openpgp.js (tests look). */
  fastChecks = 0;

  constructor(private readonly trust: Trust) {}

  /** Records openpgp.js's judgement of a signature: a clean one makes its template known. */
  remember(sig: DetachedSignature, check: SignatureCheck): void {
    if (check.goodBy.length > 0 && check.problems.length === 0 && this.publicKey(sig))
      this.judged.set(sig.template, check);
  }

  knows(sig: DetachedSignature): boolean {
    return this.judged.has(sig.template);
  }

  /**
   * The check of a known template's signature, given the digest of the data followed by the
   * trailer (`hash` over data + `trailer`).
   */
  check(sig: DetachedSignature, digestHex: string): SignatureCheck {
    const judged = this.judged.get(sig.template);
    const k = this.publicKey(sig);
    if (!judged || !k) throw new Error('check() of a template not judged: call knows() first');
    this.fastChecks++;
    const digest = Buffer.from(digestHex, 'hex');
    const ok =
      digest[0] === sig.signedHashValue[0] &&
      digest[1] === sig.signedHashValue[1] &&
      this.cryptoCheck(sig, k, digest);
    return ok
      ? judged
      : {
          goodBy: [],
          problems: [
            `the signature by ${judged.goodBy.join(', ')} does not verify: Signed digest did not match`,
          ],
        };
  }

  private cryptoCheck(
    sig: DetachedSignature,
    k: { algo: number; key: KeyObject; bytes: number },
    digest: Buffer,
  ): boolean {
    try {
      if (k.algo === EDDSA_LEGACY) {
        const rs = Buffer.concat([leftPad(sig.params.r, 32), leftPad(sig.params.s, 32)]);
        return cryptoVerify(null, digest, k.key, rs);
      }
      if (k.algo === ED25519) return cryptoVerify(null, digest, k.key, Buffer.from(sig.params.RS ?? []));
      const prefix = DIGEST_INFO[sig.hash];
      if (!prefix) return false;
      const decoded = publicDecrypt(
        { key: k.key, padding: constants.RSA_PKCS1_PADDING },
        leftPad(sig.params.s, k.bytes),
      );
      return decoded.equals(Buffer.concat([Buffer.from(prefix, 'hex'), digest]));
    } catch {
      return false;
    }
  }

  /** node:crypto's form of the (sub)key that issued `sig`, when it is an algorithm this path knows. */
  private publicKey(sig: DetachedSignature): { algo: number; key: KeyObject; bytes: number } | undefined {
    const cached = this.keys.get(sig.issuer);
    if (cached !== undefined) return cached ?? undefined;
    let found: { algo: number; key: KeyObject; bytes: number } | null = null;
    for (const key of this.trust.keys)
      for (const k of [key, ...key.subkeys]) {
        if (k.getKeyID().toHex().toUpperCase() !== sig.issuer) continue;
        const packet = k.keyPacket as unknown as {
          algorithm: number;
          publicParams: Record<string, Uint8Array>;
        };
        if (packet.algorithm !== sig.pubkeyAlgo) continue;
        found = nodeKey(packet.algorithm, packet.publicParams) ?? null;
      }
    this.keys.set(sig.issuer, found);
    return found ?? undefined;
  }
}

function nodeKey(
  algo: number,
  params: Record<string, Uint8Array>,
): { algo: number; key: KeyObject; bytes: number } | undefined {
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
