import { readSignature } from 'openpgp';
import { type DigestCheck, type DigestKey, digestVerifies, nodeKey } from './signature-math.js';
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

/** What checking `sig` from a digest needs, given the key of its (judged) template. */
export function digestCheckOf(sig: DetachedSignature, key: DigestKey): DigestCheck {
  return { key, hash: sig.hash, signedHashValue: sig.signedHashValue, params: sig.params };
}

/**
 * Judges signatures that share their hashed part with one openpgp.js has judged in full. Such
 * signatures (every .asc of one pkgpub publish: one signing time, one key) differ only in the
 * data, so key validity, expiry, flags and creation time are already settled: what is left is the
 * cryptographic check of the digest, which node:crypto does in microseconds and which the file's
 * own hashing pass (on a worker) has already computed, and can finish there (`digestCheck`).
 * openpgp.js's own verify of 5,000 small debs cost more than hashing them (bench/verify.ts).
 */
export class SignatureTemplates {
  private readonly judged = new Map<string, SignatureCheck>();
  private readonly keys = new Map<string, DigestKey | null>();
  /** Signatures judged here without openpgp.js (tests look). */
  fastChecks = 0;

  private readonly judging = new Map<string, Promise<unknown>>();

  /** `onKnown` hears of each template made known, with its key: the hashing workers are taught it. */
  constructor(
    private readonly trust: Trust,
    private readonly onKnown?: (template: string, key: DigestKey) => void,
  ) {}

  /** Records openpgp.js's judgement of a signature: a clean one makes its template known. */
  remember(sig: DetachedSignature, check: SignatureCheck): void {
    const key = check.goodBy.length > 0 && check.problems.length === 0 ? this.publicKey(sig) : undefined;
    if (!key || this.judged.has(sig.template)) return;
    this.judged.set(sig.template, check);
    this.onKnown?.(sig.template, key);
  }

  /**
   * The verdict on a signature whose digest (`signedHex`) is known. A template not yet known is
   * judged in full by `full` (openpgp.js), one signature at a time: the others of that template
   * wait, and are then checked from their digest once one came out clean. Until one does (the
   * first was damaged, or no trusted key made them), each is judged in full in its turn.
   */
  async judge(
    sig: DetachedSignature,
    signedHex: string,
    full: () => Promise<SignatureCheck>,
  ): Promise<SignatureCheck> {
    for (;;) {
      if (this.judged.has(sig.template)) return this.check(sig, signedHex);
      const other = this.judging.get(sig.template);
      if (other) {
        await other;
        continue;
      }
      const check = full();
      const settled = check
        .then((c) => this.remember(sig, c))
        .catch(() => undefined)
        .finally(() => this.judging.delete(sig.template));
      this.judging.set(sig.template, settled);
      return check;
    }
  }

  knows(sig: DetachedSignature): boolean {
    return this.judged.has(sig.template);
  }

  /**
   * What a worker needs to check a known template's signature from the digest it computes: the
   * key and the signature's values. Undefined for a template not judged.
   */
  digestCheck(sig: DetachedSignature): DigestCheck | undefined {
    const key = this.judged.has(sig.template) ? this.publicKey(sig) : undefined;
    if (!key) return undefined;
    return digestCheckOf(sig, key);
  }

  /**
   * The check of a known template's signature, given the digest of the data followed by the
   * trailer (`hash` over data + `trailer`).
   */
  check(sig: DetachedSignature, digestHex: string): SignatureCheck {
    const c = this.digestCheck(sig);
    if (!c) throw new Error('check() of a template not judged: call knows() first');
    return this.verdict(sig, digestVerifies(c, Buffer.from(digestHex, 'hex')));
  }

  /** The verdict on a known template's signature whose digest was found to verify, or not. */
  verdict(sig: DetachedSignature, verifies: boolean): SignatureCheck {
    return this.verdictOf(sig.template, verifies);
  }

  /** verdict() by the template's name (a hashing worker's reply carries only that). */
  verdictOf(template: string, verifies: boolean): SignatureCheck {
    const judged = this.judged.get(template);
    if (!judged) throw new Error('verdict() of a template not judged: call knows() first');
    this.fastChecks++;
    return verifies
      ? judged
      : {
          goodBy: [],
          problems: [
            `the signature by ${judged.goodBy.join(', ')} does not verify: Signed digest did not match`,
          ],
        };
  }

  /** node:crypto's form of the (sub)key that issued `sig`, when it is an algorithm this path knows. */
  private publicKey(sig: DetachedSignature): DigestKey | undefined {
    const cached = this.keys.get(sig.issuer);
    if (cached !== undefined) return cached ?? undefined;
    let found: DigestKey | null = null;
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
