import type { OutputFile } from '../model/tiers.js';
import { type AptAdoption, adoptApt } from '../repos/apt/adopt-apt.js';
import { keyFilesOf } from '../repos/apt/apt-extras.js';
import { adoptBin, type BinAdoption } from '../repos/bin/adopt-bin.js';
import { type AdoptedVersion, adoptDrivers } from '../repos/drivers/adopt-drivers.js';
import { signDriverIndexes } from '../repos/drivers/sign-indexes.js';
import { adoptYum, type YumAdoption } from '../repos/yum/adopt-yum.js';
import type { Signer } from '../signing/signer.js';
import { isListingPageName } from '../site/listing-model.js';
import type { ObjectInfo } from '../storage/object-store.js';
import { GARBAGE_KEY, parsePendingGarbage } from '../transaction/garbage.js';
import type { HistoryIntent } from '../transaction/run-sections.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface AdoptReport {
  apt: Omit<AptAdoption, 'outputs' | 'snapshot'>;
  yum: Omit<YumAdoption, 'outputs' | 'snapshot'>;
  bin: Omit<BinAdoption, 'outputs' | 'snapshot'>;
  drivers: { versions: AdoptedVersion[]; unrecognized: string[]; hashed: number };
  /** Every key handed to the garbage (deleted once it has been garbage for the grace period). */
  retired: string[];
}

export interface AdoptOptions extends ChangeOptions {
  signer: Signer;
  /** Read every driver whose index lacks a sha256, to list it (one full read of each). */
  hash?: boolean;
  /** Objects handed to the garbage are deleted only once they have been garbage this long. */
  gcGraceMs?: number;
}

/** pkgpub's own files in any folder: listing pages and bookkeeping are never retired as foreign indexes. */
const ownName = (key: string): boolean => {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return isListingPageName(name) || name.startsWith('.pkgpub');
};

/**
 * `pkgpub adopt`: takes over a tree other tools made, in one transaction, reading indexes and
 * listings, not packages: driver indexes from a listing of the driver tree, SHA256SUMS where a
 * tarball folder lacks one, apt and yum indexes rewritten in pkgpub's forms and signed with its
 * key, the index forms pkgpub does not write handed to the garbage, and (through the listing
 * tier) listings for every folder. A tree that is pkgpub's already gives an empty plan.
 */
export function adopt(opts: AdoptOptions): Promise<TransactionResult<AdoptReport>> {
  const { signer, hash, ...tx } = opts;
  return runTransaction(
    { ...tx, command: 'adopt', fingerprint: signer.fingerprint },
    {
      async describe({ store, cfg, now, open, step }) {
        // One listing of the tree serves every kind and the listing tier, which would otherwise
        // list it all again (a tree without listings has no root listing.json to start from).
        // Listed before any pointer is read, as readYumState does: an index that appears in
        // between is then never taken for garbage.
        step(`listing ${store.description}`);
        const listed: ObjectInfo[] = [];
        // Only what the readers and the listings use: 110,000 drivers' etags and metadata would be
        // tens of MB held until the listing step.
        for await (const o of store.list(''))
          listed.push({
            key: o.key,
            size: o.size,
            lastModified: o.lastModified,
            ...(o.sha256 ? { sha256: o.sha256 } : {}),
          });
        step(`reading the apt repository of ${store.description}`);
        const apt = await adoptApt({ store, cfg, now, signer, listed });
        step(`reading the yum repository of ${store.description}`);
        const yum = await adoptYum({ store, cfg, now, signer, listed });
        step(`reading tarball folders in ${store.description}`);
        const bin = await adoptBin({ store, cfg, signer, step, listed });
        step(`reading drivers in ${store.description}${hash ? ' (hashing those without a sha256)' : ''}`);
        const drv = await adoptDrivers({ store, cfg, now, open, hash: hash ?? false, step, listed });
        const outputs: OutputFile[] = [
          ...apt.outputs,
          ...yum.outputs,
          ...bin.outputs,
          ...(await signDriverIndexes(cfg, drv.outputs, signer)),
        ];
        if (outputs.length > 0) outputs.push(...keyFilesOf(cfg, signer));
        // Already pending (an earlier adopt retired them): handing them over again would make a
        // second adopt collect garbage, where it should find nothing to do.
        const pending = new Set(parsePendingGarbage(await store.get(GARBAGE_KEY)).map((p) => p.key));
        const retired = [...apt.retired, ...yum.retired].filter((k) => !ownName(k) && !pending.has(k));
        const { outputs: _a, snapshot: _as, ...aptReport } = apt;
        const { outputs: _y, snapshot: _ys, ...yumReport } = yum;
        const { outputs: _b, snapshot: _bs, ...binReport } = bin;
        return {
          outputs,
          garbage: retired,
          listed,
          history: [adoptionHistory(apt, yum, bin)],
          report: {
            apt: { ...aptReport, retired: aptReport.retired.filter((k) => retired.includes(k)) },
            yum: { ...yumReport, retired: yumReport.retired.filter((k) => retired.includes(k)) },
            bin: binReport,
            drivers: { versions: drv.versions, unrecognized: drv.unrecognized, hashed: drv.hashed },
            retired,
          },
        };
      },
    },
  );
}

/**
 * The channel's generation for a takeover: the pointer documents adopt rewrote (apt's Release,
 * repomd.xml, SHA256SUMS), so the history's newest entry is the state the tree serves and a later
 * run does not take it for a run that died before its pointers, and `history` shows the takeover.
 * The retired index forms are not held back by it: they go after --gc-grace, as the takeover
 * promises. A rollback to the state before it (the other tool's) then fails naming the missing
 * index instead of serving it; pkgpub never wrote that state. Nothing rewritten: no generation.
 */
function adoptionHistory(apt: AptAdoption, yum: YumAdoption, bin: BinAdoption): HistoryIntent {
  const added = bin.folders.flatMap((f) => f.added.map((n) => `${f.arch}/${n}`));
  const summary: HistoryIntent['summary'] = {};
  if (Object.keys(apt.snapshot.written).length > 0) summary.apt = { added: [], removed: [] };
  if (Object.keys(yum.snapshot.written).length > 0) summary.yum = { added: [], removed: [] };
  if (Object.keys(bin.snapshot.written).length > 0) summary.bin = { added, removed: [] };
  return {
    read: { ...apt.snapshot.read, ...yum.snapshot.read, ...bin.snapshot.read },
    written: { ...apt.snapshot.written, ...yum.snapshot.written, ...bin.snapshot.written },
    dropped: {},
    summary,
  };
}
