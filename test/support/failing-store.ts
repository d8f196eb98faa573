import type { Body, ObjectInfo, ObjectStore, PutOptions } from '../../src/storage/object-store.js';
import { ForwardingStore } from '../../src/storage/forwarding-store.js';

/** Simulates a publish killed after `allowed` successful writes: every later put or delete throws. */
export class CrashAfterStore extends ForwardingStore {
  writes = 0;
  constructor(
    inner: ObjectStore,
    private readonly allowed: number,
  ) {
    super(inner);
  }
  override async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (this.writes >= this.allowed) throw new Error(`injected crash before writing ${key}`);
    this.writes++;
    return this.inner.put(key, body, opts);
  }
  override async delete(keys: string[]): Promise<void> {
    if (this.writes >= this.allowed) throw new Error('injected crash before deleting');
    this.writes++;
    return this.inner.delete(keys);
  }
}
