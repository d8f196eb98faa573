import { bytesFile } from '../model/output-file.js';
import type { OutputFile } from '../model/tiers.js';
import { versionDocKey, versionListKey } from '../repos/drivers/build-drivers.js';
import { renderVersionList } from '../repos/drivers/driver-index.js';
import { planPrune } from '../repos/drivers/prune.js';
import { readDriverVersions } from '../repos/drivers/read-driver-state.js';
import { driverSiteFiles } from '../repos/drivers/site-files.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface DriverPruneReport {
  /** Every driver version the tree held. */
  versions: string[];
  /** Newest first. */
  keep: string[];
  /** Newest first. */
  remove: string[];
}

/** `pkgpub drivers prune`: drops every driver version beyond the newest `keep`, files and index. */
export function pruneDrivers(
  opts: ChangeOptions & { keep: number },
): Promise<TransactionResult<DriverPruneReport>> {
  const { keep, ...tx } = opts;
  return runTransaction(
    { ...tx, command: 'drivers prune' },
    {
      async describe({ store, cfg }) {
        const versions = await readDriverVersions(store, cfg);
        const prune = planPrune(versions, keep);
        const report = { versions, ...prune };
        if (prune.remove.length === 0) return { outputs: [], report };
        const deletes: string[] = [];
        // Prune is rare, so listing the doomed versions' folders is fine; the kept ones are never listed.
        for (const v of prune.remove) {
          for await (const o of store.list(`${cfg.prefixes.driver}/${v}/`)) deletes.push(o.key);
          const doc = versionDocKey(cfg, v);
          if (await store.head(doc)) deletes.push(doc);
        }
        // The version list is a pointer: written before anything is deleted, so no reader is sent
        // to a version that is going away.
        const outputs: OutputFile[] = [
          bytesFile(versionListKey(cfg), 'pointer', renderVersionList(prune.keep)),
          ...(await driverSiteFiles(cfg, prune.keep)),
        ];
        return { outputs, deletes, report };
      },
    },
  );
}
