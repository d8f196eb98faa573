import { sha256Hex } from '../../artifacts/checksums.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { StorageError } from '../../errors.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { PKGPUB_DATA_TYPE, type YumEntry, type YumState } from './build-yum.js';
import { decompressXml } from './compress-xml.js';
import { chunkPkgid, primaryFacts, splitPackages } from './repodata-chunks.js';
import { parseRepomd } from './repomd.js';
import { pointerSigners } from '../tree-signature.js';

export function repodataPrefix(cfg: ResolvedConfig): string {
  return `${cfg.prefixes.rpm}/repodata`;
}

/**
 * Reads the published state back through its pointer: repomd.xml, then the primary,
 * filelists and other files it names (checked against its checksums). Files a crashed publish
 * wrote without reaching repomd.xml are invisible here, so the next publish redoes that one.
 * Published rpms are never read.
 */
export async function readYumState(store: ObjectStore, cfg: ResolvedConfig): Promise<YumState> {
  // Listed before the pointer is read: repodata that appears in between is then never taken for garbage.
  const repodataKeys = await listRepodata(store, cfg);
  const state = await readYumStateAt(store, cfg, await readYumPointer(store, cfg), repodataKeys);
  const signedBy = state.repomdBytes
    ? await pointerSigners(await store.get(`${repodataPrefix(cfg)}/repomd.xml.asc`))
    : [];
  return { ...state, signedBy };
}

async function listRepodata(store: ObjectStore, cfg: ResolvedConfig): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(`${repodataPrefix(cfg)}/`)) keys.push(o.key);
  return keys;
}

/** The repomd.xml the tree has committed ('' when there is none), as a history snapshot. */
export async function readYumPointer(store: ObjectStore, cfg: ResolvedConfig): Promise<string> {
  const key = `${repodataPrefix(cfg)}/repomd.xml`;
  const bytes = await store.get(key);
  if (!bytes) return '';
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new StorageError(`the published ${key} in ${store.description} cannot be read back: not UTF-8`, {
      cause: err,
    });
  }
}

/** The state a repomd.xml text names (the committed one, or a kept generation's for a rollback). */
export async function readYumStateAt(
  store: ObjectStore,
  cfg: ResolvedConfig,
  repomdText: string,
  listed?: string[],
): Promise<YumState> {
  const prefix = cfg.prefixes.rpm;
  const repodataKeys = listed ?? (await listRepodata(store, cfg));
  const repomdKey = `${repodataPrefix(cfg)}/repomd.xml`;
  if (repomdText === '') return { entries: [], repodataKeys };
  const repomdBytes = new TextEncoder().encode(repomdText);
  const fail = (what: string, err?: unknown) =>
    new StorageError(
      `the published ${what} in ${store.description} cannot be read back${err ? `: ${(err as Error).message}` : ''}`,
      {
        cause: err,
      },
    );
  let repomd: ReturnType<typeof parseRepomd>;
  try {
    repomd = parseRepomd(new TextDecoder('utf-8', { fatal: true }).decode(repomdBytes));
  } catch (err) {
    throw fail(repomdKey, err);
  }
  const load = async (type: string): Promise<string | undefined> => {
    const d = repomd.data.find((x) => x.type === type);
    if (!d) return undefined;
    const key = `${prefix}/${d.href}`;
    const bytes = await store.get(key);
    if (!bytes)
      throw new StorageError(
        `${key}, named by ${repomdKey} in ${store.description}, is missing; republish with --force`,
      );
    if (sha256Hex(bytes) !== d.checksum)
      throw new StorageError(
        `${key} in ${store.description} does not match its checksum in repomd.xml; republish with --force`,
      );
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(await decompressXml(d.href, bytes));
    } catch (err) {
      throw fail(key, err);
    }
  };
  const [primary, filelists, other, record] = await Promise.all(
    ['primary', 'filelists', 'other', PKGPUB_DATA_TYPE].map((t) => load(t)),
  );
  if (primary === undefined || filelists === undefined || other === undefined)
    throw new StorageError(`${repomdKey} in ${store.description} lacks primary, filelists or other data`);
  let headers: Record<string, string> = {};
  if (record) {
    try {
      headers = (JSON.parse(record) as { headers?: Record<string, string> }).headers ?? {};
    } catch {
      // Without the record, a re-signed republish is a conflict instead of a no-op: never wrong.
      headers = {};
    }
  }
  try {
    const byId = (xml: string, what: string) => {
      const m = new Map<string, string>();
      for (const c of splitPackages(xml, what)) m.set(chunkPkgid(c), c);
      return m;
    };
    const fl = byId(filelists, 'filelists.xml');
    const ot = byId(other, 'other.xml');
    const entries: YumEntry[] = splitPackages(primary, 'primary.xml').map((chunk) => {
      const facts = primaryFacts(chunk);
      const f = fl.get(facts.pkgid);
      const o = ot.get(facts.pkgid);
      if (!f || !o)
        throw new Error(`${facts.nevra} is in primary.xml but not in filelists.xml and other.xml`);
      const header = headers[facts.pkgid];
      return { ...facts, primary: chunk, filelists: f, other: o, ...(header ? { header } : {}) };
    });
    return { entries, repomdBytes, repomd, repodataKeys };
  } catch (err) {
    throw fail(`repodata of ${prefix}`, err);
  }
}
