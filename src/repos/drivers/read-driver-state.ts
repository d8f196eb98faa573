import type { ResolvedConfig } from '../../config/resolve.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type DriverState, versionDocKey, versionListKey } from './build-drivers.js';
import { parseDriverVersionDoc, parseVersionList } from './driver-index.js';

/** `driver/site/index.json`, or [] when nothing is published yet. */
export async function readDriverVersions(store: ObjectStore, cfg: ResolvedConfig): Promise<string[]> {
  const key = versionListKey(cfg);
  const bytes = await store.get(key);
  if (!bytes) return [];
  return parseVersionList(new TextDecoder().decode(bytes), `${key} in ${store.description}`);
}

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
  for (const v of new Set(versions)) {
    const key = versionDocKey(cfg, v);
    const bytes = await store.get(key);
    if (bytes) docs.set(v, parseDriverVersionDoc(bytes, `${key} in ${store.description}`));
  }
  return { versions: await readDriverVersions(store, cfg), docs };
}
