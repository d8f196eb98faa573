import { placeDriverKey } from '../repos/drivers/adopt-drivers.js';
import { readDriverVersions } from '../repos/drivers/read-driver-state.js';
import { rebuildAllListings } from '../site/build-site.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface RebuildReport {
  folders: number;
  /** Driver versions with files in the tree but not in driver/site/index.json: `pkgpub adopt` indexes them. */
  unindexedDriverVersions: string[];
}

/**
 * `pkgpub site rebuild`: every folder's listing rendered from one listing of the whole tree, for a
 * tree whose listings are missing or damaged, or after the site templates changed. Listings only:
 * driver files no index lists are named in the report (the driver index is `pkgpub adopt`'s job,
 * which writes it in the same transaction as everything else it takes over).
 */
export function rebuildSite(opts: ChangeOptions): Promise<TransactionResult<RebuildReport>> {
  return runTransaction(
    { ...opts, command: 'site rebuild' },
    {
      async describe({ store, cfg, now, open }) {
        const out = await rebuildAllListings(store, cfg, now, opts.fingerprint, { open });
        return {
          outputs: out.files,
          deletes: out.deletes,
          ownListings: true,
          report: {
            folders: out.folders.length,
            unindexedDriverVersions: await unindexedDriverVersions(store, cfg),
          },
        };
      },
    },
  );
}

/** Driver versions the tree has files of that driver/site/index.json does not list. */
async function unindexedDriverVersions(store: ObjectStore, cfg: ResolvedConfig): Promise<string[]> {
  const listed = new Set(await readDriverVersions(store, cfg).catch(() => []));
  const found = new Set<string>();
  for await (const o of store.list(`${cfg.prefixes.driver}/`)) {
    const at = placeDriverKey(cfg, o.key);
    if (at && !listed.has(at.version)) found.add(at.version);
  }
  return [...found].sort();
}
