import type { Body } from '../storage/object-store.js';

/**
 * Commit tiers, written strictly in this order (DESIGN.md "commit order"): a client that
 * reads a pointer only ever finds what it points to already in place.
 */
export const TIERS = ['blob', 'content-addressed', 'index', 'pointer', 'listing'] as const;
export type Tier = (typeof TIERS)[number];

/** One object a builder wants in the published tree. */
export interface OutputFile {
  key: string;
  tier: Tier;
  body: Body;
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
