import type { Readable } from 'node:stream';
import type { ObjectStore } from '../storage/object-store.js';

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
  /** How old the copy served for `key` is, as a cache says it (web sources: Age, Last-Modified). */
  freshness?(key: string): Promise<{ ageSeconds?: number; lastModified?: string } | undefined>;
}

/** A folder or bucket through the store pkgpub publishes with. */
export function storeSource(store: ObjectStore): SiteSource {
  return {
    description: store.description,
    get: (key) => store.get(key),
    getStream: (key) => store.getStream(key),
    async size(key) {
      return (await store.head(key))?.size;
    },
    async *list(prefix) {
      for await (const o of store.list(prefix)) yield { key: o.key, size: o.size };
    },
  };
}
