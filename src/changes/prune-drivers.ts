import { boundedSummary, DRIVERS_RECORD, type PartKeys, type Snapshot } from '../model/history.js';
import { bytesFile } from '../model/output-file.js';
import type { OutputFile } from '../model/tiers.js';
import { type ReadDoc, versionDocKey, versionListKey } from '../repos/drivers/build-drivers.js';
import {
  keptDoc,
  keptDocKey,
  LIST_PART,
  readSnapshotOf,
  versionPart,
} from '../repos/drivers/driver-history.js';
import { parseDriverVersionDoc, renderVersionList } from '../repos/drivers/driver-index.js';
import { sortDriverVersions } from '../repos/drivers/driver-version.js';
import { readDriverParts, readVersionDoc, readVersionList } from '../repos/drivers/read-driver-state.js';
import { driverSiteFiles } from '../repos/drivers/site-files.js';
import { baseName, isListingPageName } from '../site/listing-model.js';
import { signDriverIndexes } from '../repos/drivers/sign-indexes.js';
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
 * the newest N), files and index. The newest version and protected ones always stay. A prune is a
 * generation of the driver tree's history: the removed drivers (and a copy of their version json)
 * stay while a kept generation names them, so `drivers rollback` can bring them back.
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
      async describe({ store, cfg, now, open }) {
        const list = await readVersionList(store, cfg);
        const { versions } = list;
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
        const read = new Map<string, ReadDoc>();
        const dropped: PartKeys = {};
        const written: Snapshot = {};
        const kept: OutputFile[] = [];
        const garbage: string[] = [];
        const removed: string[] = [];
        // Prune is rare, so listing the doomed versions' folders is fine; the kept ones are never listed.
        for (const v of report.remove) {
          const held: string[] = [];
          for await (const o of store.list(`${cfg.prefixes.driver}/${v}/`)) {
            // Listing pages follow the files: the listing tier drops them once the folder is empty.
            if (isListingPageName(baseName(o.key))) continue;
            held.push(o.key);
            removed.push(o.key.slice(cfg.prefixes.driver.length + 1));
          }
          const doc = await readVersionDoc(store, cfg, v);
          read.set(v, doc);
          if (doc.sha256 !== '') {
            kept.push(keptDoc(doc, open));
            held.push(keptDocKey(doc.sha256));
            // Only the version list sends loaders here, and it stops naming the version now.
            garbage.push(versionDocKey(cfg, v));
            const asc = `${versionDocKey(cfg, v)}.asc`;
            if (await store.head(asc)) garbage.push(asc);
          }
          if (held.length > 0) dropped[versionPart(v)] = held;
          written[versionPart(v)] = '';
        }
        const listAsc = `${versionListKey(cfg)}.asc`;
        if (!signer && (await store.head(listAsc))) {
          // A stale signature beside a new list fails every loader that checks it.
          if (!unsigned)
            throw new UsageError(
              `${listAsc} signs the driver index: pass --signing-key FILE (or PKGPUB_SIGNING_KEY) to sign the new one, or --unsigned to drop the signature`,
            );
          garbage.push(listAsc);
        }
        const listText = renderVersionList(report.keep);
        written[LIST_PART] = listText;
        // The version list is a pointer: written before anything is deleted, so no reader is sent
        // to a version that is going away.
        const outputs: OutputFile[] = [
          ...kept,
          ...(await signDriverIndexes(cfg, [bytesFile(versionListKey(cfg), 'pointer', listText)], signer)),
          ...(await driverSiteFiles(cfg, report.keep)),
        ];
        return {
          outputs,
          garbage,
          history: [
            {
              record: DRIVERS_RECORD,
              read: readSnapshotOf(list.text, read),
              written,
              dropped,
              summary: { drivers: boundedSummary([], removed) },
              ...(kept.length > 0 ? { preserved: kept.map((k) => k.key) } : {}),
              readParts: (parts) => readDriverParts(store, cfg, parts, true),
            },
          ],
          report,
        };
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
