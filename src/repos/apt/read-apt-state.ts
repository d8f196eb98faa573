import type { ResolvedConfig } from '../../config/resolve.js';
import { StorageError } from '../../errors.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type AptState, distsPrefix, GENERATIONS_FILE, type Generation, packagesKey } from './build-apt.js';
import { parsePackagesIndex } from './packages-index.js';

/** Reads the published Packages files and by-hash generations back from the target. */
export async function readAptState(store: ObjectStore, cfg: ResolvedConfig): Promise<AptState> {
  const indexes = new Map<string, ReturnType<typeof parsePackagesIndex>>();
  for (const component of cfg.apt.components) {
    for (const arch of cfg.apt.architectures) {
      const key = packagesKey(cfg, component, arch);
      const bytes = await store.get(key);
      if (!bytes) continue;
      try {
        indexes.set(`${component}/${arch}`, parsePackagesIndex(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
      } catch (err) {
        throw new StorageError(`the published ${key} in ${store.description} cannot be read back: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }
  let generations: Generation[] = [];
  const gen = await store.get(`${distsPrefix(cfg)}/${GENERATIONS_FILE}`);
  if (gen) {
    try {
      const parsed = JSON.parse(new TextDecoder().decode(gen)) as { generations?: Generation[] };
      generations = Array.isArray(parsed.generations) ? parsed.generations : [];
    } catch {
      // A damaged record only costs old by-hash files their cleanup; the indexes are still right.
      generations = [];
    }
  }
  return { indexes, generations };
}
