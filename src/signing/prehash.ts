import type { Hash } from 'node:crypto';

/**
 * What a reader needs to turn the sha256 it computes over a file anyway into the digest of a
 * detached signature over that file: a v4 signature hashes the data, then this trailer. Plain
 * data, so it crosses to the read workers; one template serves a whole publish (one signing time).
 */
export interface PrehashTemplate {
  hash: 'sha256';
  /** Seconds since the epoch; part of the trailer. */
  created: number;
  trailer: Uint8Array;
}

/** The signature digest, from a hash that has seen exactly the file's bytes (left unfinished). */
export function prehashDigest(hash: Hash, template: PrehashTemplate): string {
  return hash.copy().update(template.trailer).digest('hex');
}
