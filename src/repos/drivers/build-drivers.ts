import type { DriverArtifact } from '../../artifacts/types.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ContentConflictError } from '../../errors.js';
import { formatBytes } from '../../format-bytes.js';
import { bytesFile, contentTypeFor } from '../../model/output-file.js';
import { memoryOutput, type OpenOutput, writeOutput } from '../../model/text-output.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import { type DriverEntry, encodePendingDoc, renderVersionList } from './driver-index.js';
import { compareDrivers, mergeDrivers, publishedInOrder } from './driver-order.js';
import { sortDriverVersions } from './driver-version.js';

/** What the target holds now, read back from its own driver indexes (see read-driver-state.ts). */
export interface DriverState {
  /** driver/site/index.json as published (empty when there is none). */
  versions: string[];
  /** The per-version indexes of the versions this publish touches; absent when not published yet. */
  docs: Map<string, { drivers: DriverEntry[] }>;
  /** index.json's text as read ('' when there is none): the driver history's `drivers` part. */
  listText?: string;
  /**
   * Every version json read, absent ones included: its sha256 is the history's `drivers/<version>`
   * part, and its bytes are kept under the history by the change that replaces it.
   */
  read?: Map<string, ReadDoc>;
}

/** A version json as read: sha256 '' (and no bytes) when the version has none. */
export interface ReadDoc {
  sha256: string;
  bytes: Uint8Array;
}

export interface DriverBuildInput {
  cfg: ResolvedConfig;
  state: DriverState;
  drivers: DriverArtifact[];
  /** Replace a published driver file whose bytes differ. */
  force?: boolean;
  now: Date;
  /** Where the version indexes are written (default: in memory; publish: a spill, see publish/spill.ts). */
  open?: OpenOutput;
}

export interface DriverBuildResult {
  changes: ChangeSummary;
  /** Nothing to write when false. */
  changed: boolean;
  /** New driver files: tier blob, immutable. */
  blobs: OutputFile[];
  /** `site/<driver_version>.json` (tier index) for each touched version, then `site/index.json` (tier pointer). */
  files: OutputFile[];
  /** Every driver version after this publish, newest first (for driverSiteFiles). */
  versions: string[];
  /** Always empty: a driver publish only adds (prune removes). Kept for the same shape as the other builders. */
  garbage: string[];
}

export function driverKey(
  cfg: ResolvedConfig,
  driverVersion: string,
  arch: string,
  fileName: string,
): string {
  // join makes one flat string; a template literal makes a chain of cons strings, about 60% more
  // memory per key, and a publish keeps one key per driver (100,000 in a big version).
  return [cfg.prefixes.driver, driverVersion, arch, fileName].join('/');
}

export function driverSitePrefix(cfg: ResolvedConfig): string {
  return `${cfg.prefixes.driver}/site`;
}

export function versionDocKey(cfg: ResolvedConfig, driverVersion: string): string {
  return `${driverSitePrefix(cfg)}/${driverVersion}.json`;
}

export function versionListKey(cfg: ResolvedConfig): string {
  return `${driverSitePrefix(cfg)}/index.json`;
}

/**
 * The URL Falco's loader and falcoctl build: every segment percent-encoded, so the `+` of
 * `7.0.0+driver` travels as `%2B` (S3 reads a raw `+` in a path as a space).
 */
export function driverDownloadUrl(
  cfg: ResolvedConfig,
  driverVersion: string,
  arch: string,
  fileName: string,
): string {
  const key = driverKey(cfg, driverVersion, arch, fileName);
  return `${cfg.baseUrl}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function entryOf(cfg: ResolvedConfig, d: DriverArtifact, lastmodified: string): DriverEntry {
  return {
    lib: d.driverVersion,
    arch: d.arch,
    kind: d.driverKind,
    kernel: `${d.kernelRelease}_${d.kernelVersion}`,
    kernelrelease: d.kernelRelease,
    kernelversion: d.kernelVersion,
    target: d.target,
    name: d.fileName,
    download: driverDownloadUrl(cfg, d.driverVersion, d.arch, d.fileName),
    sizebytes: d.size,
    size: formatBytes(d.size),
    lastmodified,
    sha256: d.sha256,
  };
}

/** How a new driver file relates to what is published and to the rest of this publish. */
const SAME_AS_EARLIER = 0;
const ADDED = 1;
const UNCHANGED = 2;

/** `<driver version>/<arch>/<file>`: how the change summary and conflicts name a driver file. */
function labelOf(d: DriverArtifact): string {
  return [d.driverVersion, d.arch, d.fileName].join('/');
}

/**
 * Pure: merges new driver files into the published per-version indexes. Only the versions the
 * new files belong to are touched; every other version's index is neither read nor rewritten.
 * The new files are put in index order and merged with the published entries (already in that
 * order), so a 100,000-driver version needs no map keyed by file, and no key string per driver.
 */
export function buildDrivers(input: DriverBuildInput): DriverBuildResult {
  const { cfg, state, drivers } = input;
  // One string shared by every new entry, not one per driver.
  const now = input.now.toISOString();
  const order = indexOrder(drivers);
  const status = new Uint8Array(drivers.length);
  // Input positions by version, in index order: the new files of that version's index.
  const ranges = new Map<string, { from: number; to: number; published: DriverEntry[] }>();
  let conflict: { at: number; message: string } | undefined;
  // Reported as a loop over the input would meet it first.
  const fail = (at: number, message: string) => {
    if (!conflict || at < conflict.at) conflict = { at, message };
  };

  for (let k = 0; k < order.length; ) {
    const v = drivers[order[k]!]!.driverVersion;
    const published = publishedInOrder(state.docs.get(v)?.drivers ?? []);
    const from = k;
    let p = 0;
    while (k < order.length && drivers[order[k]!]!.driverVersion === v) {
      // The first of the files claiming one name decides; the later ones must be the same bytes.
      const at = order[k]!;
      const d = drivers[at]!;
      for (k++; k < order.length; k++) {
        const twin = drivers[order[k]!]!;
        if (twin.driverVersion !== v || compareDrivers(twin, d) !== 0) break;
        if (twin.sha256 !== d.sha256)
          fail(order[k]!, `${twin.path} and ${d.path} both claim ${labelOf(d)} with different bytes`);
      }
      while (p < published.length && compareDrivers(published[p]!, d) < 0) p++;
      const current =
        p < published.length && compareDrivers(published[p]!, d) === 0 ? published[p] : undefined;
      if (current && current.sha256 === d.sha256) status[at] = UNCHANGED;
      // An entry `pkgpub adopt` made from a listing has no sha256: the file is sent as new, and the
      // plan's probe compares it with the stored object (other bytes are a conflict there).
      else if (current && current.sha256 !== '' && !input.force)
        fail(
          at,
          `${d.path}: ${labelOf(d)} is already published with other bytes (sha256 ${current.sha256.slice(0, 12)}…); use --force to replace it`,
        );
      else status[at] = ADDED;
    }
    ranges.set(v, { from, to: k, published });
  }
  if (conflict) throw new ContentConflictError(conflict.message);

  // Summaries and blobs in the order the files were given.
  const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
  const blobs: OutputFile[] = [];
  const touched = new Set<string>();
  drivers.forEach((d, i) => {
    if (status[i] === SAME_AS_EARLIER) return;
    const key = driverKey(cfg, d.driverVersion, d.arch, d.fileName);
    // The label is the key without its prefix: a slice shares the key's characters.
    const label = key.slice(cfg.prefixes.driver.length + 1);
    if (status[i] === UNCHANGED) {
      changes.unchanged.push(label);
      return;
    }
    touched.add(d.driverVersion);
    changes.added.push(label);
    blobs.push({
      key,
      tier: 'blob',
      body: { file: d.path, size: d.size },
      sha256: d.sha256,
      size: d.size,
      contentType: contentTypeFor(d.fileName),
      immutable: true,
    });
  });

  // A publish that died after a version index but before index.json left the version unlisted.
  const inputVersions = new Set<string>();
  for (const d of drivers) inputVersions.add(d.driverVersion);
  const listed = new Set(state.versions);
  for (const v of inputVersions) if (!listed.has(v)) touched.add(v);
  const versions = sortDriverVersions([...state.versions, ...inputVersions]);
  if (touched.size === 0) return { changes, changed: false, blobs: [], files: [], versions, garbage: [] };

  const files: OutputFile[] = [];
  for (const v of [...touched].sort()) {
    const { from, to, published } = ranges.get(v)!;
    function* fresh(): Generator<DriverArtifact> {
      for (let k = from; k < to; k++) if (status[order[k]!] === ADDED) yield drivers[order[k]!]!;
    }
    files.push(
      writeOutput(
        input.open ?? memoryOutput,
        versionDocKey(cfg, v),
        'index',
        (out) =>
          encodePendingDoc(
            out,
            now,
            () => mergeDrivers(published, fresh()),
            (d) => entryOf(cfg, d, now),
          ),
        256 + (published.length + to - from) * 1024,
      ),
    );
  }
  files.push(bytesFile(versionListKey(cfg), 'pointer', renderVersionList(versions)));
  return { changes, changed: true, blobs, files, versions, garbage: [] };
}

/** Input positions sorted by version, then index order; equal files keep their input order. */
function indexOrder(drivers: DriverArtifact[]): Uint32Array {
  const order = new Uint32Array(drivers.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((x, y) => {
    const a = drivers[x]!;
    const b = drivers[y]!;
    const v = a.driverVersion < b.driverVersion ? -1 : a.driverVersion > b.driverVersion ? 1 : 0;
    return v || compareDrivers(a, b) || x - y;
  });
}
