import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../errors.js';
import type { Readable } from 'node:stream';
import { FsStore } from '../storage/fs-store.js';
import { assertSafeKey, type ObjectStore } from '../storage/object-store.js';

export interface SourceEntry {
  key: string;
  size: number;
}

/**
 * A published site as verify reads it: a folder, a bucket, or a web server. Keys are paths from
 * the site's root without a leading slash. Read only: verify never writes.
 */
export interface SiteSource {
  readonly description: string;
  get(key: string): Promise<Uint8Array | undefined>;
  getStream(key: string): Promise<Readable | undefined>;
  /** The size a client would receive; undefined when the file is not there. */
  size(key: string): Promise<number | undefined>;
  /**
   * Every file under `prefix`, when the source can list (a folder, a bucket); undefined when it
   * cannot (a web server), so checks that need the real file list say they were not made.
   */
  list?(prefix: string): AsyncIterable<SourceEntry>;
  /** The URL a client fetches `key` from (web servers only): driver loaders request these. */
  urlOf?(key: string): string;
  /** Fetches an absolute URL as a client would; only web sources. */
  sizeOfUrl?(url: string): Promise<number | undefined>;
  /** The file's path on this machine (folders only): --deep hashes those on every core. */
  localPath?(key: string): string;
  /** How old the copy served for `key` is, as a cache says it (web sources: Age, Last-Modified). */
  freshness?(key: string): Promise<{ ageSeconds?: number; lastModified?: string } | undefined>;
}

/** A folder or bucket through the store pkgpub publishes with. */
export function storeSource(store: ObjectStore): SiteSource {
  const root = store instanceof FsStore ? store.root : undefined;
  const localPath = (key: string) => {
    assertSafeKey(key);
    return join(root!, ...key.split('/'));
  };
  return {
    description: store.description,
    ...(root === undefined ? {} : { localPath }),
    // A folder's files are read at once: --deep reads 5,000 small .asc files, and fs/promises'
    // open, stat, read and close each a round trip cost the main thread, which feeds the hashing
    // workers, more than the reads themselves (bench/verify.ts).
    get:
      root === undefined
        ? (key) => store.get(key)
        : async (key) => {
            try {
              return readFileSync(localPath(key));
            } catch (err) {
              const code = (err as NodeJS.ErrnoException).code;
              if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
              throw new StorageError(`cannot read ${key} from ${store.description}`, { cause: err });
            }
          },
    getStream: (key) => store.getStream(key),
    async size(key) {
      return (await store.head(key))?.size;
    },
    async *list(prefix) {
      for await (const o of store.list(prefix)) yield { key: o.key, size: o.size };
    },
  };
}
