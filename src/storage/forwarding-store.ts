import type { Readable } from 'node:stream';
import type { Body, CopyOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';

/**
 * An ObjectStore that hands every call to another one: the base of the wrappers that change one
 * thing about a store (guarded writes, injected crashes in tests) and pass the rest through,
 * capabilities included.
 */
export class ForwardingStore implements ObjectStore {
  readonly description: string;
  /** Present exactly when the wrapped store has it, so callers that test for it see the truth. */
  readonly getVersioned?: ObjectStore['getVersioned'];
  readonly preferredWriteConcurrency?: number;

  constructor(protected readonly inner: ObjectStore) {
    this.description = inner.description;
    if (inner.preferredWriteConcurrency) this.preferredWriteConcurrency = inner.preferredWriteConcurrency;
    if (inner.getVersioned) this.getVersioned = (key) => inner.getVersioned!(key);
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

  put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    return this.inner.put(key, body, opts);
  }

  copy(fromKey: string, toKey: string, opts?: CopyOptions): Promise<ObjectInfo> {
    return this.inner.copy(fromKey, toKey, opts);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  listFolder(prefix: string, nameStartsWith?: string): AsyncIterable<ObjectInfo> {
    return this.inner.listFolder(prefix, nameStartsWith);
  }

  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }

  async atomicCreateOnly(): Promise<boolean> {
    return (await this.inner.atomicCreateOnly?.()) ?? false;
  }

  async conditionalWrites(): Promise<boolean> {
    return (await this.inner.conditionalWrites?.()) ?? false;
  }
}
