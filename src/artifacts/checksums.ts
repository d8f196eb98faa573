import { createHash, type Hash } from 'node:crypto';

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

/** Incremental multi-digest: feed chunks as they stream past, read all digests at the end. */
export class MultiHasher {
  private readonly hashes: Record<DigestAlgo, Hash>;
  private bytes = 0;
  constructor() {
    this.hashes = {
      md5: createHash('md5'),
      sha1: createHash('sha1'),
      sha256: createHash('sha256'),
      sha512: createHash('sha512'),
    };
  }
  update(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    for (const algo of DIGEST_ALGOS) this.hashes[algo].update(chunk);
  }
  digest(): Digests {
    return {
      size: this.bytes,
      md5: this.hashes.md5.digest('hex'),
      sha1: this.hashes.sha1.digest('hex'),
      sha256: this.hashes.sha256.digest('hex'),
      sha512: this.hashes.sha512.digest('hex'),
    };
  }
}

export function digestsOf(data: Uint8Array): Digests {
  const h = new MultiHasher();
  h.update(data);
  return h.digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
