import { ForwardingStore } from '../../src/storage/forwarding-store.js';
import type {
  Body,
  CopyOptions,
  ObjectInfo,
  ObjectStore,
  PutOptions,
} from '../../src/storage/object-store.js';

/**
 * Runs `during` once, just before the first write of a key ending in `suffix`: a command paused
 * at a chosen point while another one runs.
 */
export class PauseBeforeWrite extends ForwardingStore {
  #armed = true;
  constructor(
    inner: ObjectStore,
    private readonly suffix: string,
    private readonly during: () => Promise<unknown>,
  ) {
    super(inner);
  }
  override async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (this.#armed && key.endsWith(this.suffix)) {
      this.#armed = false;
      await this.during();
    }
    return this.inner.put(key, body, opts);
  }

  override async copy(fromKey: string, toKey: string, opts?: CopyOptions): Promise<ObjectInfo> {
    if (this.#armed && toKey.endsWith(this.suffix)) {
      this.#armed = false;
      await this.during();
    }
    return this.inner.copy(fromKey, toKey, opts);
  }
}
