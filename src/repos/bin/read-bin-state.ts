import type { ResolvedConfig } from '../../config/resolve.js';
import { StorageError } from '../../errors.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type BinState, sumsKey } from './build-bin.js';
import { parseSha256Sums } from './sha256sums.js';

/** Reads the SHA256SUMS of the arch folders a publish touches (one small GET each). */
export async function readBinState(
  store: ObjectStore,
  cfg: ResolvedConfig,
  arches: Iterable<string>,
): Promise<BinState> {
  const sums: BinState['sums'] = new Map();
  for (const arch of new Set(arches)) {
    const key = sumsKey(cfg, arch);
    const bytes = await store.get(key);
    if (!bytes) continue;
    try {
      sums.set(arch, parseSha256Sums(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
    } catch (err) {
      throw new StorageError(
        `the published ${key} in ${store.description} cannot be read back: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return { sums };
}
