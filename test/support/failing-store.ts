import type { Readable } from 'node:stream';
import type { Body, ObjectInfo, ObjectStore, PutOptions } from '../../src/storage/object-store.js';

/** Simulates a publish killed after `allowed` successful writes: every later put or delete throws. */
export class CrashAfterStore implements ObjectStore {
  writes = 0;
  readonly description: string;
  constructor(
    private readonly inner: ObjectStore,
    private readonly allowed: number,
  ) {
    this.description = inner.description;
  }
  get(key: string): Promise<Uint8Array | undefined> {
    return this.inner.get(key);
  }
  getStream(key: string): Promise<Readable | undefined> {
    return this.inner.getStream(key);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  listFolder(prefix: string, nameStartsWith?: string): AsyncIterable<ObjectInfo> {
    return this.inner.listFolder(prefix, nameStartsWith);
  }
  async atomicCreateOnly(): Promise<boolean> {
    return (await this.inner.atomicCreateOnly?.()) ?? false;
  }
  async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (this.writes >= this.allowed) throw new Error(`injected crash before writing ${key}`);
    this.writes++;
    return this.inner.put(key, body, opts);
  }
  async delete(keys: string[]): Promise<void> {
    if (this.writes >= this.allowed) throw new Error('injected crash before deleting');
    this.writes++;
    return this.inner.delete(keys);
  }
}
