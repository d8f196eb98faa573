import { ForwardingStore } from '../../src/storage/forwarding-store.js';
import type { ObjectInfo } from '../../src/storage/object-store.js';

/**
 * Records the listings a command asks its store for: `list(prefix)` is a walk of everything below
 * the prefix (a stat per file on a folder, a page per 1,000 keys on S3), so a test can hold a
 * command to the number of walks it needs.
 */
export class CountingStore extends ForwardingStore {
  /** The prefix of every recursive listing, in call order. */
  readonly lists: string[] = [];
  /** Objects the recursive listings yielded, all together. */
  listed = 0;
  /** `listFolder` calls (one folder each, as the probe makes). */
  folderLists = 0;

  override async *list(prefix: string): AsyncIterable<ObjectInfo> {
    this.lists.push(prefix);
    for await (const o of this.inner.list(prefix)) {
      this.listed++;
      yield o;
    }
  }

  override listFolder(prefix: string, nameStartsWith?: string): AsyncIterable<ObjectInfo> {
    this.folderLists++;
    return this.inner.listFolder(prefix, nameStartsWith);
  }
}
