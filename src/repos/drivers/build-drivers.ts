import type { DriverArtifact } from '../../artifacts/types.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ConflictError } from '../../errors.js';
import { formatBytes } from '../../format-bytes.js';
import { bytesFile, contentTypeFor } from '../../publish/output-file.js';
import type { ChangeSummary, OutputFile } from '../../publish/types.js';
import { type DriverEntry, encodePendingDoc, entryKey, renderVersionList } from './driver-index.js';
import { sortDriverVersions } from './driver-version.js';

/** What the target holds now, read back from its own driver indexes (see read-driver-state.ts). */
export interface DriverState {
  /** driver/site/index.json as published (empty when there is none). */
  versions: string[];
  /** The per-version indexes of the versions this publish touches; absent when not published yet. */
  docs: Map<string, { drivers: DriverEntry[] }>;
}

export interface DriverBuildInput {
  cfg: ResolvedConfig;
  state: DriverState;
  drivers: DriverArtifact[];
  /** Replace a published driver file whose bytes differ. */
  force?: boolean;
  now: Date;
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
  return `${cfg.prefixes.driver}/${driverVersion}/${arch}/${fileName}`;
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

/**
 * Pure: merges new driver files into the published per-version indexes. Only the versions the
 * new files belong to are touched; every other version's index is neither read nor rewritten.
 */
export function buildDrivers(input: DriverBuildInput): DriverBuildResult {
  const { cfg, state } = input;
  // One string shared by every new entry, not one per driver.
  const now = input.now.toISOString();
  const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
  const blobs: OutputFile[] = [];
  // New files stay artifacts until their line is written (see encodePendingDoc).
  const byVersion = new Map<string, Map<string, DriverEntry | DriverArtifact>>();
  const touched = new Set<string>();
  const inThisRun = new Map<string, DriverArtifact>();

  for (const d of input.drivers) {
    let entries = byVersion.get(d.driverVersion);
    if (!entries) {
      entries = new Map();
      for (const e of state.docs.get(d.driverVersion)?.drivers ?? []) entries.set(entryKey(e), e);
      byVersion.set(d.driverVersion, entries);
    }
    const k = entryKey({ arch: d.arch, name: d.fileName });
    // One string per driver for the summary and the duplicate check: 100k drivers make 100k of each.
    const label = `${d.driverVersion}/${k}`;
    const twin = inThisRun.get(label);
    if (twin) {
      if (twin.sha256 !== d.sha256)
        throw new ConflictError(`${d.path} and ${twin.path} both claim ${label} with different bytes`);
      continue;
    }
    inThisRun.set(label, d);
    const current = entries.get(k);
    if (current && current.sha256 === d.sha256) {
      changes.unchanged.push(label);
      continue;
    }
    if (current && !input.force)
      throw new ConflictError(
        `${d.path}: ${label} is already published with other bytes (sha256 ${current.sha256.slice(0, 12) || 'unknown'}…); use --force to replace it`,
      );
    entries.set(k, d);
    touched.add(d.driverVersion);
    changes.added.push(label);
    blobs.push({
      key: driverKey(cfg, d.driverVersion, d.arch, d.fileName),
      tier: 'blob',
      body: { file: d.path, size: d.size },
      sha256: d.sha256,
      size: d.size,
      contentType: contentTypeFor(d.fileName),
      immutable: true,
    });
  }

  // A publish that died after a version index but before index.json left the version unlisted.
  const listed = new Set(state.versions);
  for (const v of byVersion.keys()) if (!listed.has(v)) touched.add(v);
  const versions = sortDriverVersions([...state.versions, ...byVersion.keys()]);
  if (touched.size === 0) return { changes, changed: false, blobs: [], files: [], versions, garbage: [] };

  const files: OutputFile[] = [];
  for (const v of [...touched].sort()) {
    files.push(
      bytesFile(
        versionDocKey(cfg, v),
        'index',
        encodePendingDoc(now, byVersion.get(v)!.values(), (d) => entryOf(cfg, d, now)),
      ),
    );
  }
  files.push(bytesFile(versionListKey(cfg), 'pointer', renderVersionList(versions)));
  return { changes, changed: true, blobs, files, versions, garbage: [] };
}
