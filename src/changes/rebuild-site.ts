import { rebuildAllListings } from '../site/build-site.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

/**
 * `pkgpub site rebuild`: every folder's listing rendered from one listing of the whole tree, for a
 * tree whose listings are missing or damaged, or after the site templates changed.
 */
export function rebuildSite(opts: ChangeOptions): Promise<TransactionResult<{ folders: number }>> {
  return runTransaction(
    { ...opts, command: 'site rebuild' },
    {
      async describe({ store, cfg, now, open }) {
        const out = await rebuildAllListings(store, cfg, now, opts.fingerprint, { open });
        return {
          outputs: out.files,
          deletes: out.deletes,
          ownListings: true,
          report: { folders: out.folders.length },
        };
      },
    },
  );
}
