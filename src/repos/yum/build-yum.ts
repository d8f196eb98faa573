import { sha256Hex } from '../../artifacts/checksums.js';
import type { RpmHeaders } from '../../artifacts/types.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ContentConflictError } from '../../errors.js';
import { bytesFile, contentTypeFor, copiedFile, type StoredObject } from '../../model/output-file.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import { isListingPageName } from '../../site/listing-model.js';
import { compressedSuffix, compressXml } from './compress-xml.js';
import { FILELISTS_CLOSE, FILELISTS_OPEN, filelistsPackageXml } from './filelists-xml.js';
import { OTHER_CLOSE, OTHER_OPEN, otherPackageXml } from './other-xml.js';
import { PRIMARY_CLOSE, PRIMARY_OPEN, primaryPackageXml } from './primary-xml.js';
import type { PrimaryFacts } from './repodata-chunks.js';
import { type Repomd, type RepomdData, renderRepomd } from './repomd.js';
import type { PreparedRpm } from './sign-rpm-file.js';
import { nevraOf, type YumPackage } from './yum-package.js';

/** One published package, carried as the exact xml the repodata holds for it. */
export interface YumEntry extends PrimaryFacts {
  primary: string;
  filelists: string;
  other: string;
  /** sha256 of the main header, from pkgpub's own record (absent for packages another tool published). */
  header?: string;
}

/** What the target holds now, read back through its repomd.xml (no local database). */
export interface YumState {
  entries: YumEntry[];
  /** The committed repomd.xml, exactly as stored, and what it says. */
  repomdBytes?: Uint8Array;
  repomd?: Repomd;
  /** Every key under <rpm prefix>/repodata/ in the target, for garbage collection. */
  repodataKeys: string[];
  /** Key ids that signed the live repomd.xml.asc ([] when there is none); unset when not read. */
  signedBy?: string[];
}

/** An rpm published in another channel of the tree: its repodata entry, its object and `.asc`. */
export interface PublishedRpm {
  /** As the source's repodata holds it; its href is relative to the source's rpm prefix. */
  entry: YumEntry;
  blob: StoredObject;
  signature?: StoredObject;
}

export interface YumRemoval {
  name: string;
  /** VERSION, VERSION-RELEASE or EPOCH:VERSION-RELEASE. */
  version?: string;
  arch?: string;
}

export interface YumInput {
  /** Its digests only where they were needed to decide (see needsPkgid) or it is published as is. */
  rpm: RpmHeaders;
  headerSha256: string;
}

export interface YumSelection {
  changes: ChangeSummary;
  /** Inputs to publish (sign, upload, describe). */
  add: YumInput[];
  /** Published entries that stay. */
  keep: YumEntry[];
  /** Keys no entry reaches once this publish lands (removed or replaced rpms and their .asc). */
  garbage: string[];
}

/** The record type pkgpub adds to repomd.xml; dnf ignores types it does not know. */
export const PKGPUB_DATA_TYPE = 'pkgpub';
const XML_TYPES = ['primary', 'filelists', 'other'] as const;

export function yumLabel(
  name: string,
  epoch: string | number,
  ver: string,
  rel: string,
  arch: string,
): string {
  return `${name} ${String(epoch) === '0' ? '' : `${epoch}:`}${ver}-${rel} ${arch}`;
}

function matchesVersion(e: YumEntry, v: string): boolean {
  return v === e.ver || v === `${e.ver}-${e.rel}` || v === `${e.epoch}:${e.ver}-${e.rel}`;
}

/**
 * Pure: the inputs read without digests that selectYumChanges can only compare by file digest,
 * because a package another tool published (no header record of pkgpub's) has their NEVRA.
 */
export function needsPkgid(state: YumState, rpms: RpmHeaders[]): RpmHeaders[] {
  const foreign = new Set(state.entries.filter((e) => e.header === undefined).map((e) => e.nevra));
  return rpms.filter((r) => r.sha256 === undefined && foreign.has(nevraOf(r)));
}

/**
 * Pure: decides what changes. Same NEVRA with the same file or the same main header (the
 * published copy is a signed form of this input) is unchanged; with other contents it is a
 * conflict unless forced.
 */
export function selectYumChanges(input: {
  cfg: ResolvedConfig;
  state: YumState;
  rpms: YumInput[];
  removals?: YumRemoval[];
  force?: boolean;
}): YumSelection {
  const prefix = input.cfg.prefixes.rpm;
  const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
  const byNevra = new Map<string, YumEntry | YumInput>();
  for (const e of input.state.entries) byNevra.set(e.nevra, e);
  const hrefOwner = new Map<string, string>();
  for (const e of input.state.entries) hrefOwner.set(e.href, e.nevra);
  const dropped: YumEntry[] = [];

  for (const r of input.rpms) {
    const rpm = r.rpm;
    const nevra = nevraOf(rpm);
    const l = yumLabel(rpm.name, rpm.epoch, rpm.version, rpm.release, rpm.arch);
    const cur = byNevra.get(nevra);
    if (cur) {
      const sha256 = rpm.sha256;
      const same =
        'rpm' in cur
          ? (sha256 !== undefined && cur.rpm.sha256 === sha256) || cur.headerSha256 === r.headerSha256
          : (sha256 !== undefined && cur.pkgid === sha256) || cur.header === r.headerSha256;
      if (same) {
        changes.unchanged.push(l);
        continue;
      }
      if (!input.force)
        throw new ContentConflictError(
          `${rpm.path}: ${l} is already published with other contents (${'rpm' in cur ? `from ${cur.rpm.path}` : `pkgid ${cur.pkgid.slice(0, 12)}…`}); use --force to replace it`,
        );
      if (!('rpm' in cur)) dropped.push(cur);
      else if (changes.added.includes(l)) changes.added.splice(changes.added.indexOf(l), 1);
    }
    const owner = hrefOwner.get(rpm.fileName);
    if (owner !== undefined && owner !== nevra && !input.force)
      throw new ContentConflictError(
        `${rpm.path}: ${rpm.fileName} is already published as ${owner}; use --force`,
      );
    if (owner !== undefined && owner !== nevra) {
      const other = byNevra.get(owner);
      if (other && !('rpm' in other)) dropped.push(other);
      byNevra.delete(owner);
    }
    byNevra.set(nevra, r);
    hrefOwner.set(rpm.fileName, nevra);
    changes.added.push(l);
  }

  for (const rm of input.removals ?? []) {
    let matched = false;
    for (const [k, e] of byNevra) {
      if ('rpm' in e) continue;
      if (e.name !== rm.name || (rm.version !== undefined && !matchesVersion(e, rm.version))) continue;
      if (rm.arch !== undefined && e.arch !== rm.arch) continue;
      byNevra.delete(k);
      dropped.push(e);
      matched = true;
      changes.removed.push(yumLabel(e.name, e.epoch, e.ver, e.rel, e.arch));
    }
    if (!matched)
      changes.unchanged.push(`(no published rpm matches ${rm.name}${rm.version ? `=${rm.version}` : ''})`);
  }

  const add: YumInput[] = [];
  const keep: YumEntry[] = [];
  for (const e of byNevra.values()) {
    if ('rpm' in e) add.push(e);
    else keep.push(e);
  }
  const liveHrefs = new Set([...keep.map((e) => e.href), ...add.map((a) => a.rpm.fileName)]);
  const garbage: string[] = [];
  for (const d of dropped) {
    if (liveHrefs.has(d.href)) continue;
    garbage.push(`${prefix}/${d.href}`, `${prefix}/${d.href}.asc`);
  }
  return { changes, add, keep, garbage: [...new Set(garbage)] };
}

/**
 * Pure: takes published rpms of another channel into `selection`. Their repodata entries are kept
 * byte for byte (the href is relative to the rpm prefix, so the same in both channels) and their
 * objects become copies. The same NEVRA is unchanged when it is the same file, or the same main
 * header signed again (as for publish); other contents are a conflict unless forced.
 */
export function selectPromotedRpms(input: {
  cfg: ResolvedConfig;
  selection: YumSelection;
  promoted: readonly PublishedRpm[];
  force?: boolean;
}): { selection: YumSelection; entries: YumEntry[]; copies: OutputFile[] } {
  const prefix = input.cfg.prefixes.rpm;
  const sel = input.selection;
  const changes: ChangeSummary = {
    added: [...sel.changes.added],
    removed: [...sel.changes.removed],
    unchanged: [...sel.changes.unchanged],
  };
  const keep = new Map(sel.keep.map((e) => [e.nevra, e]));
  const taken = new Set(sel.add.map((a) => nevraOf(a.rpm)));
  const garbage = [...sel.garbage];
  const entries: YumEntry[] = [];
  const copies: OutputFile[] = [];
  for (const p of input.promoted) {
    const e = p.entry;
    const l = yumLabel(e.name, e.epoch, e.ver, e.rel, e.arch);
    if (taken.has(e.nevra)) throw new ContentConflictError(`${l} is both published and promoted in one run`);
    const cur = keep.get(e.nevra);
    if (cur && (cur.pkgid === e.pkgid || (cur.header !== undefined && cur.header === e.header))) {
      changes.unchanged.push(l);
      continue;
    }
    if (cur && !input.force)
      throw new ContentConflictError(
        `${p.blob.key}: ${l} is already published with other contents (pkgid ${cur.pkgid.slice(0, 12)}…); use --force to replace it`,
      );
    const owner = [...keep.values()].find((k) => k.href === e.href && k.nevra !== e.nevra);
    if (owner && !input.force)
      throw new ContentConflictError(
        `${p.blob.key}: ${e.href} is already published as ${owner.nevra}; use --force`,
      );
    for (const gone of [cur, owner]) {
      if (!gone) continue;
      keep.delete(gone.nevra);
      if (gone.href !== e.href) garbage.push(`${prefix}/${gone.href}`, `${prefix}/${gone.href}.asc`);
    }
    taken.add(e.nevra);
    entries.push(e);
    changes.added.push(l);
    const key = `${prefix}/${e.href}`;
    // Not immutable, as publish's rpms are not: a key no repomd.xml names is a crashed run's leftover.
    copies.push(copiedFile(key, p.blob, false));
    if (p.signature) copies.push(copiedFile(`${key}.asc`, p.signature, false));
  }
  return {
    selection: { ...sel, changes, keep: [...keep.values()], garbage: [...new Set(garbage)] },
    entries,
    copies,
  };
}

export interface YumBuildResult {
  /** Nothing to write when false: the published repository already says exactly this. */
  changed: boolean;
  /** The rpms to upload (tier blob); their .asc signatures are added by the signing step. */
  blobs: OutputFile[];
  /** Content-addressed repodata files. */
  files: OutputFile[];
  /** The new repomd.xml text, to be signed into repomd.xml.asc and written last. */
  repomd?: string;
  /** Objects no pointer reaches once this publish lands. */
  garbage: string[];
}

function pkgOf(p: PreparedRpm, fileTime: number): YumPackage {
  return {
    rpm: p.rpm,
    pkgid: p.sha256,
    size: p.size,
    headerRange: p.headerRange,
    href: p.rpm.fileName,
    fileTime,
  };
}

function entryOf(p: PreparedRpm, fileTime: number): YumEntry {
  const pkg = pkgOf(p, fileTime);
  const r = p.rpm;
  return {
    name: r.name,
    arch: r.arch,
    epoch: String(r.epoch),
    ver: r.version,
    rel: r.release,
    pkgid: p.sha256,
    href: pkg.href,
    nevra: nevraOf(r),
    primary: primaryPackageXml(pkg),
    filelists: filelistsPackageXml(pkg),
    other: otherPackageXml(pkg),
    header: p.headerSha256,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Pure apart from compression: the repodata for `keep` plus the prepared (possibly signed)
 * rpms. Packages are ordered by file name, as createrepo_c lists them.
 */
export async function buildYum(input: {
  cfg: ResolvedConfig;
  state: YumState;
  selection: YumSelection;
  prepared: PreparedRpm[];
  /** Entries of promoted rpms (selectPromotedRpms), written as they are. */
  promoted?: YumEntry[];
  now: Date;
  /** A rollback: a new repomd.xml even when the selection neither adds nor removes. */
  rebuild?: boolean;
}): Promise<YumBuildResult> {
  const { cfg, state, selection } = input;
  const prefix = cfg.prefixes.rpm;
  const suffix = compressedSuffix(cfg.yum.compression);
  const sameCompression =
    state.repomd?.data.find((d) => d.type === 'primary')?.href.endsWith(`.xml${suffix}`) ?? false;
  const promoted = input.promoted ?? [];
  if (
    !input.rebuild &&
    selection.add.length === 0 &&
    promoted.length === 0 &&
    selection.changes.removed.length === 0 &&
    state.repomd &&
    sameCompression
  ) {
    return { changed: false, blobs: [], files: [], garbage: [] };
  }
  const seconds = Math.floor(input.now.getTime() / 1000);
  const entries = [...selection.keep, ...promoted, ...input.prepared.map((p) => entryOf(p, seconds))].sort(
    (x, y) => cmp(x.href, y.href) || cmp(x.pkgid, y.pkgid),
  );

  const blobs: OutputFile[] = input.prepared.map((p) => ({
    key: `${prefix}/${p.rpm.fileName}`,
    tier: 'blob',
    body: { file: p.file, size: p.size, ...(p.signed ? { movable: true } : {}) },
    sha256: p.sha256,
    size: p.size,
    contentType: contentTypeFor(p.rpm.fileName),
    // Not immutable: a signed copy differs on every run (the signature carries its time), and
    // an rpm here that no repomd.xml names is a leftover of an interrupted publish.
    immutable: false,
  }));

  const n = entries.length;
  const documents: Record<(typeof XML_TYPES)[number], string> = {
    primary: `${PRIMARY_OPEN}${n}">\n${entries.map((e) => e.primary).join('')}${PRIMARY_CLOSE}`,
    filelists: `${FILELISTS_OPEN}${n}">\n${entries.map((e) => e.filelists).join('')}${FILELISTS_CLOSE}`,
    other: `${OTHER_OPEN}${n}">\n${entries.map((e) => e.other).join('')}${OTHER_CLOSE}`,
  };
  const headers: Record<string, string> = {};
  for (const e of entries) if (e.header) headers[e.pkgid] = e.header;

  // All four compress at once (gzip on libuv's pool); repomd lists them in this order.
  const pack = async (type: string, base: string, text: string) => {
    const open = new TextEncoder().encode(text);
    const packed = await compressXml(open, cfg.yum.compression);
    const sha = sha256Hex(packed);
    const href = `repodata/${sha}-${base}${suffix}`;
    const file: OutputFile = {
      ...bytesFile(`${prefix}/${href}`, 'content-addressed', packed),
      immutable: false,
    };
    const entry: RepomdData = {
      type,
      checksum: sha,
      openChecksum: sha256Hex(open),
      href,
      timestamp: seconds,
      size: packed.length,
      openSize: open.length,
    };
    return { file, entry };
  };
  const packs = await Promise.all([
    ...XML_TYPES.map((t) => pack(t, `${t}.xml`, documents[t])),
    pack(PKGPUB_DATA_TYPE, 'pkgpub.json', `${JSON.stringify({ headers })}\n`),
  ]);
  const files: OutputFile[] = packs.map((p) => p.file);
  const data: RepomdData[] = packs.map((p) => p.entry);

  const repomd = renderRepomd({ revision: String(seconds), data });
  const reachable = new Set([...data, ...(state.repomd?.data ?? [])].map((d) => `${prefix}/${d.href}`));
  const pointers = new Set([`${prefix}/repodata/repomd.xml`, `${prefix}/repodata/repomd.xml.asc`]);
  const garbage = [
    ...selection.garbage,
    // The folder's listing pages sit in repodata/ too; deleting them would leave it unlisted.
    ...state.repodataKeys.filter(
      (k) => !reachable.has(k) && !pointers.has(k) && !isListingPageName(k.slice(k.lastIndexOf('/') + 1)),
    ),
  ];
  return { changed: true, blobs, files, repomd, garbage: [...new Set(garbage)] };
}
