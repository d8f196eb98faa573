import type { Body } from '../storage/object-store.js';

/**
 * Commit tiers, written strictly in this order (DESIGN.md "commit order"): a client that
 * reads a pointer only ever finds what it points to already in place.
 */
export const TIERS = ['blob', 'content-addressed', 'index', 'pointer', 'listing'] as const;
export type Tier = (typeof TIERS)[number];

/**
 * An object already in the tree (a package published in another channel) whose very bytes this
 * output is: apply has the store copy it (server-side on S3), and the sha256, size and md5 of the
 * output come from the index that describes the source, so probing and planning need no read.
 */
export interface CopyBody {
  copyFrom: string;
}

/** One object a builder wants in the published tree. */
export interface OutputFile {
  key: string;
  tier: Tier;
  body: Body | CopyBody;
  sha256: string;
  size: number;
  /** Hex MD5 of a file body when the read pass computed it, so an upload need not hash the file again. */
  md5?: string;
  contentType: string;
  /** Blobs: the same key with other bytes is a conflict, not an overwrite (unless forced). */
  immutable?: boolean;
  /** Order inside a tier, lower first (Release before InRelease; repomd.xml.asc before repomd.xml). */
  order?: number;
}

export interface ChangeSummary {
  added: string[];
  removed: string[];
  unchanged: string[];
}
