import { sha256Hex } from '../artifacts/checksums.js';
import { knownTarballArches, tarballArch } from '../artifacts/arch-names.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { StorageError } from '../errors.js';
import { getField } from '../formats/deb822.js';
import { firstElement } from '../formats/xml.js';
import { mapLimit } from '../map-limit.js';
import type { StoredObject } from '../model/output-file.js';
import { keyFilesOf } from '../repos/apt/apt-extras.js';
import type { PublishedDeb } from '../repos/apt/build-apt.js';
import { type AptEntry, entryKey } from '../repos/apt/packages-index.js';
import { readAptState } from '../repos/apt/read-apt-state.js';
import type { PublishedTarball } from '../repos/bin/build-bin.js';
import { readBinState } from '../repos/bin/read-bin-state.js';
import type { SectionInput } from '../repos/section.js';
import { SignatureDigests } from '../repos/sign-outputs.js';
import type { PublishedRpm, YumEntry } from '../repos/yum/build-yum.js';
import { readYumState } from '../repos/yum/read-yum-state.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import { runSections, type SectionChanges } from '../transaction/run-sections.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';
import { type PromoteSpec, pickVersions, type SourceIndex } from './promote-select.js';

export interface PromoteRequest extends ChangeOptions {
  specs: PromoteSpec[];
  /** The source channel's settings; `cfg` is the target channel's. Both live in the one tree. */
  from: ResolvedConfig;
  /** Signs the target's indexes; absent only for --unsigned. */
  signer?: Signer;
  allowPrerelease?: boolean;
  /** As publish's: unreferenced objects (old by-hash generations) are deleted after this long. */
  gcGraceMs?: number;
}

/** One package carried over: from which object of the source to which of the target. */
export interface PromotedPackage {
  kind: 'deb' | 'rpm' | 'tarball';
  name: string;
  version: string;
  arch: string;
  from: string;
  to: string;
}

export interface PromoteReport {
  from: string;
  to: string;
  /** Every package the specs picked, whether or not the target already held it. */
  picked: PromotedPackage[];
  changes: SectionChanges;
}

/**
 * `pkgpub promote`: puts packages already published in one channel into another as their very
 * bytes. Each attempt reads the source channel's indexes (through their pointers, as a publish
 * reads its target), picks the versions, and hands the target channel's sections the published
 * records: the packages and their `.asc` become copies inside the store, and only the target's
 * indexes are rebuilt and signed.
 */
export function promote(req: PromoteRequest): Promise<TransactionResult<PromoteReport>> {
  const { specs, from, signer, allowPrerelease, ...tx } = req;
  return runTransaction(
    {
      ...tx,
      command: 'promote',
      ...(signer ? { fingerprint: signer.fingerprint } : {}),
    },
    {
      async describe(ctx) {
        const { store, cfg } = ctx;
        ctx.step(`reading the ${from.channel} channel from ${store.description}`);
        const source = await readSource(store, from);
        const picked = pickVersions(source, specs, {
          channel: from.channel,
          allowPrerelease: allowPrerelease ?? false,
        });
        const [debs, rpms, tarballs] = await Promise.all([
          publishedDebs(store, from, picked.debs),
          publishedRpms(store, from, picked.rpms),
          publishedTarballs(store, from, picked.tarballs),
        ]);
        const rpmsSigned = rpms.length > 0 && (await sourceRpmsSigned(store, from));
        const input: SectionInput = {
          artifacts: [],
          rpmHeaders: [],
          removals: [],
          digests: new SignatureDigests(undefined),
          promoted: { debs, rpms, tarballs, rpmsSigned },
        };
        const built = await runSections(
          { ...ctx, ...(signer ? { signer } : {}), rpms: { sign: false, resign: false } },
          input,
        );
        const outputs = built.outputs;
        if (signer && outputs.length > 0) outputs.push(...keyFilesOf(cfg, signer));
        const report: PromoteReport = {
          from: from.channel,
          to: cfg.channel,
          picked: [
            ...debs.map((d) => ({
              kind: 'deb' as const,
              name: d.entry.name,
              version: d.entry.version,
              arch: d.entry.arch,
              from: d.blob.key,
              to: `${cfg.prefixes.deb}/${cfg.apt.pool}/${baseName(d.entry.filename)}`,
            })),
            ...rpms.map((r) => ({
              kind: 'rpm' as const,
              name: r.entry.name,
              version: `${r.entry.epoch === '0' ? '' : `${r.entry.epoch}:`}${r.entry.ver}-${r.entry.rel}`,
              arch: r.entry.arch,
              from: r.blob.key,
              to: `${cfg.prefixes.rpm}/${r.entry.href}`,
            })),
            ...tarballs.map((t, i) => ({
              kind: 'tarball' as const,
              name: picked.tarballs[i]!.name,
              version: picked.tarballs[i]!.version,
              arch: t.arch,
              from: t.blob.key,
              to: `${cfg.prefixes.bin}/${t.arch}/${t.fileName}`,
            })),
          ],
          changes: built.changes,
        };
        return { outputs, garbage: built.garbage, history: built.history, report, cleanup: built.cleanup };
      },
    },
  );
}

/** The source channel's indexes, read through their pointers: Packages, repodata, SHA256SUMS. */
async function readSource(store: ObjectStore, from: ResolvedConfig): Promise<SourceIndex> {
  const arches = [...new Set(knownTarballArches().map((a) => tarballArch(a)!))];
  const [apt, yum, bin] = await Promise.all([
    readAptState(store, from),
    readYumState(store, from),
    readBinState(store, from, arches),
  ]);
  // An `all` package is listed in every arch's Packages: one record of it is enough.
  const debs = new Map<string, AptEntry>();
  for (const entries of apt.indexes.values()) for (const e of entries) debs.set(entryKey(e), e);
  const tarballs = [...bin.sums].flatMap(([arch, sums]) =>
    [...sums].map(([fileName, sha256]) => ({ arch, fileName, sha256 })),
  );
  return { debs: [...debs.values()], rpms: yum.entries, tarballs };
}

/** Reads at most this many `.asc` files (or HEADs) at once. */
const READ_WIDTH = 8;

/**
 * A blob's `.asc` in the source, if it has one: read (a signature is a few hundred bytes), so its
 * copy has a sha256 and size to plan with like every other output.
 */
async function signatureOf(store: ObjectStore, key: string): Promise<StoredObject | undefined> {
  const bytes = await store.get(`${key}.asc`);
  return bytes ? { key: `${key}.asc`, sha256: sha256Hex(bytes), size: bytes.length } : undefined;
}

function publishedDebs(
  store: ObjectStore,
  from: ResolvedConfig,
  entries: AptEntry[],
): Promise<PublishedDeb[]> {
  return mapLimit(entries, READ_WIDTH, async (entry) => {
    const key = `${from.prefixes.deb}/${entry.filename}`;
    const md5 = getField(entry.stanza, 'MD5sum');
    const signature = await signatureOf(store, key);
    return {
      entry,
      blob: { key, sha256: entry.sha256, size: entry.size, ...(md5 ? { md5 } : {}) },
      ...(signature ? { signature } : {}),
    };
  });
}

function publishedRpms(
  store: ObjectStore,
  from: ResolvedConfig,
  entries: YumEntry[],
): Promise<PublishedRpm[]> {
  return mapLimit(entries, READ_WIDTH, async (entry) => {
    const key = `${from.prefixes.rpm}/${entry.href}`;
    const size = Number(firstElement(entry.primary, 'size')?.attrs.package);
    if (!Number.isSafeInteger(size) || size <= 0)
      throw new StorageError(`${entry.nevra} in the ${from.channel} repodata has no package size`);
    const signature = await signatureOf(store, key);
    return { entry, blob: { key, sha256: entry.pkgid, size }, ...(signature ? { signature } : {}) };
  });
}

/** SHA256SUMS has no sizes: one HEAD per tarball gives it (and proves the object is there). */
function publishedTarballs(
  store: ObjectStore,
  from: ResolvedConfig,
  picked: { arch: string; fileName: string; sha256: string }[],
): Promise<PublishedTarball[]> {
  return mapLimit(picked, READ_WIDTH, async (t) => {
    const key = `${from.prefixes.bin}/${t.arch}/${t.fileName}`;
    const [info, signature] = await Promise.all([store.head(key), signatureOf(store, key)]);
    if (!info)
      throw new StorageError(`${key} is listed in its SHA256SUMS but missing from ${store.description}`);
    return {
      arch: t.arch,
      fileName: t.fileName,
      blob: { key, sha256: t.sha256, size: info.size },
      ...(signature ? { signature } : {}),
    };
  });
}

/**
 * Whether the source's rpms carry the project's signature: its .repo file, which pkgpub writes with
 * gpgcheck=1 exactly when it signed them. The target's .repo then says the same.
 */
async function sourceRpmsSigned(store: ObjectStore, from: ResolvedConfig): Promise<boolean> {
  const repo = await store.get(`${from.prefixes.rpm}/${from.yum.name}.repo`);
  return repo !== undefined && /^gpgcheck=1$/m.test(new TextDecoder().decode(repo));
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
