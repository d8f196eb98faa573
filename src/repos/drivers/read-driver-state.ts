import { sha256Hex } from '../../artifacts/checksums.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type DriverState, type ReadDoc, versionDocKey, versionListKey } from './build-drivers.js';
import { LIST_PART, readSnapshotOf, versionsOfParts } from './driver-history.js';
import { parseDriverVersionDoc, parseVersionList } from './driver-index.js';
import type { Snapshot } from '../../model/history.js';

/** `driver/site/index.json`, or [] when nothing is published yet. */
export async function readDriverVersions(store: ObjectStore, cfg: ResolvedConfig): Promise<string[]> {
  return (await readVersionList(store, cfg)).versions;
}

/** index.json's versions and its text ('' when there is none): the history's `drivers` part. */
export async function readVersionList(
  store: ObjectStore,
  cfg: ResolvedConfig,
): Promise<{ versions: string[]; text: string }> {
  const key = versionListKey(cfg);
  const bytes = await store.get(key);
  if (!bytes) return { versions: [], text: '' };
  const text = new TextDecoder().decode(bytes);
  return { versions: parseVersionList(text, `${key} in ${store.description}`), text };
}

/** A version json as it is committed now: its bytes and sha256, or '' and no bytes when absent. */
export async function readVersionDoc(
  store: ObjectStore,
  cfg: ResolvedConfig,
  version: string,
): Promise<ReadDoc> {
  const bytes = await store.get(versionDocKey(cfg, version));
  return bytes ? { sha256: sha256Hex(bytes), bytes } : ABSENT;
}

export const ABSENT: ReadDoc = { sha256: '', bytes: new Uint8Array() };

/**
 * Reads back only what a publish of `versions` needs: the version list and those versions'
 * indexes. The tree of driver files is never listed: the indexes are the record.
 */
export async function readDriverState(
  store: ObjectStore,
  cfg: ResolvedConfig,
  versions: Iterable<string>,
): Promise<DriverState> {
  const docs: DriverState['docs'] = new Map();
  const read: NonNullable<DriverState['read']> = new Map();
  for (const v of new Set(versions)) {
    const doc = await readVersionDoc(store, cfg, v);
    read.set(v, doc);
    if (doc.sha256 !== '')
      docs.set(v, parseDriverVersionDoc(doc.bytes, `${versionDocKey(cfg, v)} in ${store.description}`));
  }
  const list = await readVersionList(store, cfg);
  return { versions: list.versions, docs, listText: list.text, read };
}

/**
 * The committed `parts` of the driver tree (index.json's text, each version json's sha256).
 * `cheap`: take a version json's sha256 from the store's metadata where it has it (S3: pkgpub
 * writes it on every put), for a check of parts this run neither rewrites nor needs the bytes of;
 * a rollback reads the bytes instead (the read is the version its conditional write builds on).
 */
export async function readDriverParts(
  store: ObjectStore,
  cfg: ResolvedConfig,
  parts: readonly string[],
  cheap = false,
): Promise<Snapshot> {
  const docs = new Map<string, ReadDoc>();
  for (const v of versionsOfParts(parts)) {
    const info = cheap ? await store.head(versionDocKey(cfg, v)) : undefined;
    const sha256 = cheap && !info ? '' : (info?.sha256 ?? (await readVersionDoc(store, cfg, v)).sha256);
    docs.set(v, { sha256, bytes: ABSENT.bytes });
  }
  const out = readSnapshotOf(parts.includes(LIST_PART) ? (await readVersionList(store, cfg)).text : '', docs);
  if (!parts.includes(LIST_PART)) delete out[LIST_PART];
  return out;
}
