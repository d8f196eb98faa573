import type { OutputFile } from '../model/tiers.js';
import { type AptAdoption, adoptApt } from '../repos/apt/adopt-apt.js';
import { keyFilesOf } from '../repos/apt/apt-extras.js';
import { adoptBin, type BinAdoption } from '../repos/bin/adopt-bin.js';
import { type AdoptedVersion, adoptDrivers } from '../repos/drivers/adopt-drivers.js';
import { adoptYum, type YumAdoption } from '../repos/yum/adopt-yum.js';
import type { Signer } from '../signing/signer.js';
import { isListingPageName } from '../site/listing-model.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface AdoptReport {
  apt: Omit<AptAdoption, 'outputs'>;
  yum: Omit<YumAdoption, 'outputs'>;
  bin: Omit<BinAdoption, 'outputs'>;
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
        step(`reading the apt repository of ${store.description}`);
        const apt = await adoptApt({ store, cfg, now, signer });
        step(`reading the yum repository of ${store.description}`);
        const yum = await adoptYum({ store, cfg, now, signer });
        step(`listing tarballs in ${store.description}`);
        const bin = await adoptBin({ store, cfg, signer, step });
        step(`listing drivers in ${store.description}${hash ? ' (hashing those without a sha256)' : ''}`);
        const drv = await adoptDrivers({ store, cfg, now, open, hash: hash ?? false, step });
        const outputs: OutputFile[] = [...apt.outputs, ...yum.outputs, ...bin.outputs, ...drv.outputs];
        if (outputs.length > 0) outputs.push(...keyFilesOf(cfg, signer));
        const retired = [...apt.retired, ...yum.retired].filter((k) => !ownName(k));
        const { outputs: _a, ...aptReport } = apt;
        const { outputs: _y, ...yumReport } = yum;
        const { outputs: _b, ...binReport } = bin;
        return {
          outputs,
          garbage: retired,
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
