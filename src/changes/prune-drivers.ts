import { bytesFile } from '../model/output-file.js';
import type { OutputFile } from '../model/tiers.js';
import { versionDocKey, versionListKey } from '../repos/drivers/build-drivers.js';
import { parseDriverVersionDoc, renderVersionList } from '../repos/drivers/driver-index.js';
import { sortDriverVersions } from '../repos/drivers/driver-version.js';
import { readDriverVersions } from '../repos/drivers/read-driver-state.js';
import { signDriverIndexes } from '../repos/drivers/sign-indexes.js';
import { driverSiteFiles } from '../repos/drivers/site-files.js';
import type { Signer } from '../signing/signer.js';
import { UsageError } from '../errors.js';
import { decideRetention, type PublishedVersion, type Rule } from '../retention/decide.js';
import { hasRule, type RetentionPolicy } from '../retention/policy.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface DriverPruneReport {
  /** Every driver version the tree held. */
  versions: string[];
  /** Newest first. */
  keep: string[];
  /** Newest first. */
  remove: string[];
  /** Per removed version: the rules that remove it. */
  reasons: Record<string, Rule[]>;
  /** Protected versions that stay, newest first. */
  protected: string[];
  /** Bytes of the removed versions' drivers, when the version indexes were read (max size, older than). */
  bytesFreed?: number;
  /** With max size: what the driver tree is still over once everything removable is gone. */
  overBy: number;
}

/**
 * `pkgpub drivers prune`: drops the driver versions a retention policy removes (`keep` alone is
 * the newest N), files and index. The newest version and protected ones always stay.
 */
export function pruneDrivers(
  opts: ChangeOptions & {
    keep?: number;
    policy?: RetentionPolicy;
    /** Signs the new version list; without it a signed list is refused unless `unsigned`. */
    signer?: Signer;
    unsigned?: boolean;
  },
): Promise<TransactionResult<DriverPruneReport>> {
  const { keep, policy: given, signer, unsigned, ...tx } = opts;
  const policy: RetentionPolicy = given ?? { ...(keep !== undefined ? { keep } : {}), protect: [] };
  if (!hasRule(policy)) throw new RangeError('drivers prune needs keep, max size or older than');
  return runTransaction(
    { ...tx, command: 'drivers prune' },
    {
      async describe({ store, cfg, now }) {
        const versions = await readDriverVersions(store, cfg);
        // Sizes and dates are in each version's index: read only when a rule needs them.
        const facts = policy.maxSize !== undefined || policy.olderThanMs !== undefined;
        const published: PublishedVersion<string>[] = [];
        for (const v of versions)
          published.push({
            kind: 'driver',
            name: '',
            arch: '',
            version: v,
            size: 0,
            ref: v,
            ...(facts ? await versionFacts(store, versionDocKey(cfg, v)) : {}),
          });
        const decision = decideRetention(published, policy, now);
        const doomed = new Set(decision.remove.map((r) => r.version.ref));
        const report: DriverPruneReport = {
          versions,
          keep: sortDriverVersions(versions.filter((v) => !doomed.has(v))),
          remove: sortDriverVersions(doomed),
          reasons: Object.fromEntries(decision.remove.map((r) => [r.version.ref, r.reasons])),
          protected: sortDriverVersions(
            decision.keep.filter((k) => k.why === 'protected').map((k) => k.version.ref),
          ),
          ...(facts ? { bytesFreed: decision.bytesFreed } : {}),
          overBy: decision.overBy,
        };
        if (report.remove.length === 0) return { outputs: [], report };
        const deletes: string[] = [];
        // Prune is rare, so listing the doomed versions' folders is fine; the kept ones are never listed.
        for (const v of report.remove) {
          for await (const o of store.list(`${cfg.prefixes.driver}/${v}/`)) deletes.push(o.key);
          const doc = versionDocKey(cfg, v);
          for (const k of [doc, `${doc}.asc`]) if (await store.head(k)) deletes.push(k);
        }
        const listAsc = `${versionListKey(cfg)}.asc`;
        if (!signer && (await store.head(listAsc))) {
          // A stale signature beside a new list fails every loader that checks it.
          if (!unsigned)
            throw new UsageError(
              `${listAsc} signs the driver index: pass --signing-key FILE (or PKGPUB_SIGNING_KEY) to sign the new one, or --unsigned to drop the signature`,
            );
          deletes.push(listAsc);
        }
        // The version list is a pointer: written before anything is deleted, so no reader is sent
        // to a version that is going away.
        const outputs: OutputFile[] = [
          ...(await signDriverIndexes(
            cfg,
            [bytesFile(versionListKey(cfg), 'pointer', renderVersionList(report.keep))],
            signer,
          )),
          ...(await driverSiteFiles(cfg, report.keep)),
        ];
        return { outputs, deletes, report };
      },
    },
  );
}

/** A version's size (its drivers' bytes) and date (when a publish last wrote its index). */
async function versionFacts(store: ObjectStore, key: string): Promise<{ size: number; time?: number }> {
  const bytes = await store.get(key);
  if (!bytes) return { size: 0 };
  const doc = parseDriverVersionDoc(bytes, `${key} in ${store.description}`);
  const time = Date.parse(doc.date);
  return {
    size: doc.drivers.reduce((n, d) => n + (Number.isFinite(d.sizebytes) ? d.sizebytes : 0), 0),
    ...(Number.isFinite(time) ? { time } : {}),
  };
}
