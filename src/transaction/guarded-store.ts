import { StorageError } from '../errors.js';
import { ForwardingStore } from '../storage/forwarding-store.js';
import type { Body, CopyOptions, ObjectInfo, ObjectStore, PutOptions } from '../storage/object-store.js';

/**
 * The store as one publish attempt sees it: every object it reads is remembered with the etag of
 * the version read (absent ones as ''), and every later write of such an object is conditional on
 * that etag. A publish's state files (InRelease, repomd.xml, the driver json, listing.json) are
 * exactly what it reads and then rewrites, so a write that would drop another publisher's commit
 * fails with PreconditionError instead; the caller re-reads and merges (publish-locked.ts). Objects
 * never read (packages, content-addressed files) are written as they are.
 */
export class GuardedStore extends ForwardingStore {
  readonly #read = new Map<string, string>();

  constructor(inner: ObjectStore) {
    super(inner);
    if (!inner.getVersioned) throw new StorageError(`${inner.description} cannot report versions`);
  }

  override async get(key: string): Promise<Uint8Array | undefined> {
    const got = await this.inner.getVersioned!(key);
    // The first read is the version this attempt builds on.
    if (!this.#read.has(key)) this.#read.set(key, got?.etag ?? '');
    return got?.bytes;
  }

  override async put(key: string, body: Body, opts: PutOptions = {}): Promise<ObjectInfo> {
    const expected = this.#read.get(key);
    const info = await this.inner.put(
      key,
      body,
      expected === undefined ? opts : { ...opts, ifMatch: expected },
    );
    if (expected !== undefined && info.etag) this.#read.set(key, info.etag);
    return info;
  }

  /**
   * Copies land on blobs, which an attempt never reads. A copy onto a state file it read could not
   * be made conditional (CopyObject's destination preconditions are not everywhere), so it is refused.
   */
  override async copy(fromKey: string, toKey: string, opts?: CopyOptions): Promise<ObjectInfo> {
    if (this.#read.has(toKey))
      throw new StorageError(
        `internal: ${toKey} was read by this attempt and cannot be the target of a copy`,
      );
    return this.inner.copy(fromKey, toKey, opts);
  }
}
