import type { ResolvedConfig } from '../../config/resolve.js';
import { StorageError } from '../../errors.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type BinState, sumsKey } from './build-bin.js';
import { parseSha256Sums } from './sha256sums.js';
import { pointerSigners } from '../tree-signature.js';

/** Reads the SHA256SUMS of the arch folders a publish touches (one small GET each). */
export async function readBinState(
  store: ObjectStore,
  cfg: ResolvedConfig,
  arches: Iterable<string>,
): Promise<BinState> {
  const texts = new Map<string, string>();
  const signedBy = new Map<string, string[]>();
  for (const arch of new Set(arches)) {
    const key = sumsKey(cfg, arch);
    const bytes = await store.get(key);
    if (!bytes) {
      texts.set(arch, '');
      continue;
    }
    signedBy.set(arch, await pointerSigners(await store.get(`${key}.asc`)));
    try {
      texts.set(arch, new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (err) {
      throw new StorageError(`the published ${key} in ${store.description} cannot be read back: not UTF-8`, {
        cause: err,
      });
    }
  }
  return { ...binStateAt(store, cfg, texts), signedBy };
}

/** The state SHA256SUMS texts describe (arch -> text; '' for none): the committed ones or a kept generation's. */
export function binStateAt(store: ObjectStore, cfg: ResolvedConfig, texts: Map<string, string>): BinState {
  const sums: BinState['sums'] = new Map();
  for (const [arch, text] of texts) {
    if (text === '') continue;
    const key = sumsKey(cfg, arch);
    try {
      sums.set(arch, parseSha256Sums(text));
    } catch (err) {
      throw new StorageError(
        `the published ${key} in ${store.description} cannot be read back: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return { sums, texts };
}
