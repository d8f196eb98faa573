import type { Readable } from 'node:stream';
import { StorageError } from '../errors.js';

/**
 * The one seam between pkgpub and where the published tree lives. Keys are '/'-separated
 * relative paths ("packages/deb/dists/stable/Release"); backends map them to files or objects.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: Date;
  /** Opaque version tag for conditional writes (S3 ETag, or a file's mtime+size+inode). */
  etag?: string;
  /** sha256 of the bytes when the backend knows it without reading them (pkgpub writes it as metadata). */
  sha256?: string;
  /**
   * MD5 of the bytes as the backend reports it without reading them (the ETag of a single-part S3
   * upload). Only a match is evidence: with SSE-KMS an ETag looks like an MD5 and is not one.
   */
  md5?: string;
}

/**
 * What to upload: bytes built in memory, or a local file streamed from disk. `movable` marks a
 * file pkgpub made for this upload alone (a signed rpm copy): a folder store may rename it into
 * place instead of copying its bytes again.
 */
export type Body = { bytes: Uint8Array } | { file: string; size: number; movable?: boolean };

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
  /** Stored beside the object so later runs can skip unchanged uploads without reading it. */
  sha256?: string;
  /**
   * Hex MD5 of the body when the caller already has it (the read pass computes it): a backend that
   * sends Content-MD5 then need not hash a file body again before sending it.
   */
  md5?: string;
  /** Write only if the current object still has this etag ('' = only if it does not exist). */
  ifMatch?: string;
}

export interface CopyOptions {
  /** Size of the source as the caller knows it: spares a backend a request to report it. */
  size?: number;
  /**
   * sha256 of the source's bytes as the caller knows them (from a signed index): reported back in
   * the ObjectInfo, as put() reports the one it was given.
   */
  sha256?: string;
  /**
   * Hex MD5 of the source's bytes when the caller knows it (a Packages stanza's MD5sum): a backend
   * that learns the copy's MD5 for free (a single-part S3 ETag) refuses a copy that differs.
   */
  md5?: string;
}

export interface ObjectStore {
  /** For messages: "folder ./public" or "s3://bucket/prefix". Never contains credentials. */
  readonly description: string;
  /** Puts a publish keeps in flight when the user sets no --concurrency (default 4). */
  readonly preferredWriteConcurrency?: number;
  get(key: string): Promise<Uint8Array | undefined>;
  getStream(key: string): Promise<Readable | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Atomic from a reader's point of view: readers see the old object or the new one, never a partial one. */
  put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo>;
  /** Every object below `prefix` (recursively), in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * The objects directly in the folder `prefix` ('' = the root), not those in its subfolders, in no
   * set order; with `nameStartsWith`, only those whose name in the folder starts with it. On S3 one
   * request per 1,000 entries, fetched as iteration goes on, so a caller may stop early.
   */
  listFolder(prefix: string, nameStartsWith?: string): AsyncIterable<ObjectInfo>;
  delete(keys: string[]): Promise<void>;
  /**
   * Puts the bytes of `fromKey` at `toKey` without them passing through this process (S3:
   * CopyObject, server-side; folder: a hard link or a clone, renamed into place). The copy keeps
   * the source's metadata (content type, cache control, sha256); atomic to readers as put() is.
   * A missing source is a StorageError.
   */
  copy(fromKey: string, toKey: string, opts?: CopyOptions): Promise<ObjectInfo>;
  /**
   * True when a create-only put (`ifMatch: ''`) is atomic: of two racing creators exactly one
   * wins. Absent means no: lock takers then wait and re-read to settle the race.
   */
  atomicCreateOnly?(): Promise<boolean>;
  /**
   * True when `ifMatch` with an etag is an atomic compare-and-swap on this backend, so
   * publishers can run without the lock and merge on conflict (see publish/guarded-store.ts).
   */
  conditionalWrites?(): Promise<boolean>;
  /** get() plus the etag of exactly the version returned (one request where the backend allows). */
  getVersioned?(key: string): Promise<{ bytes: Uint8Array; etag: string } | undefined>;
}

/** Throws on keys that could escape the tree or confuse a backend. */
export function assertSafeKey(key: string): void {
  const bad =
    key.length === 0 ||
    key.startsWith('/') ||
    key.includes('\\') ||
    key.includes('\0') ||
    key.split('/').some((part) => part === '' || part === '.' || part === '..');
  if (bad)
    throw new StorageError(`unsafe object key ${JSON.stringify(key)}: empty, absolute, or has . / .. parts`);
}
