import type {
  Body,
  CopyOptions,
  ObjectInfo,
  ObjectStore,
  PutOptions,
} from '../../src/storage/object-store.js';
import { ForwardingStore } from '../../src/storage/forwarding-store.js';

/** Simulates a publish killed after `allowed` successful writes: every later put or delete throws. */
export class CrashAfterStore extends ForwardingStore {
  writes = 0;
  /** What the successful writes were, in order: a put's key, or `DELETE k1 k2…`. */
  readonly written: string[] = [];
  /** The first write refused, even when the caller swallowed it (a lease's release, say). */
  refusal: Error | undefined;
  constructor(
    inner: ObjectStore,
    private readonly allowed: number,
  ) {
    super(inner);
  }
  override async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (this.writes >= this.allowed) throw this.refuse(`injected crash before writing ${key}`);
    this.writes++;
    this.written.push(key);
    return this.inner.put(key, body, opts);
  }
  // A copy is a write like a put: a crash can come before it.
  override async copy(fromKey: string, toKey: string, opts?: CopyOptions): Promise<ObjectInfo> {
    if (this.writes >= this.allowed) throw this.refuse(`injected crash before copying to ${toKey}`);
    this.writes++;
    this.written.push(toKey);
    return this.inner.copy(fromKey, toKey, opts);
  }
  private refuse(message: string): Error {
    const err = new Error(message);
    this.refusal ??= err;
    return err;
  }
  override async delete(keys: string[]): Promise<void> {
    if (this.writes >= this.allowed) throw this.refuse(`injected crash before deleting ${keys.join(' ')}`);
    this.writes++;
    this.written.push(`DELETE ${keys.join(' ')}`);
    return this.inner.delete(keys);
  }
}
