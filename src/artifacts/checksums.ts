import { createHash, type Hash } from 'node:crypto';
import { type PrehashTemplate, prehashDigest } from '../signing/prehash.js';

/** Every digest a Packages stanza or a repodata entry needs, computed in one pass. */
export interface Digests {
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  sha512: string;
}

export const DIGEST_ALGOS = ['md5', 'sha1', 'sha256', 'sha512'] as const;
export type DigestAlgo = (typeof DIGEST_ALGOS)[number];

/** What a reader that needs only the sha256 (rpm: repodata's pkgid) reports. */
export type SizeAndSha256 = Pick<Digests, 'size' | 'sha256'> & Partial<Digests>;

/**
 * Incremental multi-digest: feed chunks as they stream past, read the digests at the end.
 * Hashing is what reading costs (md5 and sha512 run at ~600 MB/s, sha256 with SHA extensions at
 * ~1.4 GB/s), so readers ask only for what their repository format needs.
 */
export class MultiHasher<A extends DigestAlgo = DigestAlgo> {
  private readonly hashes: [A, Hash][];
  private bytes = 0;
  constructor(
    algos: readonly A[] = DIGEST_ALGOS as unknown as readonly A[],
    private readonly prehash?: PrehashTemplate,
  ) {
    this.hashes = algos.map((a) => [a, createHash(a)]);
  }
  /**
   * The digest a detached signature over the bytes seen so far needs, from the sha256 already
   * running (no second pass); undefined without a template. Call before digest().
   */
  signatureDigest(): string | undefined {
    if (!this.prehash) return undefined;
    const sha256 = this.hashes.find(([a]) => a === 'sha256');
    if (!sha256) throw new Error('a prehash needs the sha256 running');
    return prehashDigest(sha256[1], this.prehash);
  }
  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    for (const [, h] of this.hashes) h.update(chunk);
  }
  digest(): { size: number } & Record<A, string> {
    const out = { size: this.bytes } as { size: number } & Record<A, string>;
    for (const [a, h] of this.hashes) (out as Record<string, unknown>)[a] = h.digest('hex');
    return out;
  }
}

export function digestsOf(data: Uint8Array): Digests {
  const h = new MultiHasher();
  h.update(data);
  return h.digest() as Digests;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
