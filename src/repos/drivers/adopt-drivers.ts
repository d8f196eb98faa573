import { createHash } from 'node:crypto';
import { driverArch } from '../../artifacts/arch-names.js';
import { FOLDER_DRIVER_VERSION, parseDriverName } from '../../artifacts/read-driver.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { formatBytes } from '../../format-bytes.js';
import { mapLimit } from '../../map-limit.js';
import { bytesFile } from '../../model/output-file.js';
import { memoryOutput, type OpenOutput, writeOutput } from '../../model/text-output.js';
import type { OutputFile } from '../../model/tiers.js';
import type { ObjectInfo, ObjectStore } from '../../storage/object-store.js';
import { versionDocKey, versionListKey } from './build-drivers.js';
import {
  type DriverEntry,
  encodePendingDoc,
  parseDriverVersionDoc,
  renderVersionList,
} from './driver-index.js';
import { publishedInOrder } from './driver-order.js';
import { sortDriverVersions } from './driver-version.js';
import { readDriverVersions } from './read-driver-state.js';
import { driverSiteFiles } from './site-files.js';

/** A driver file found in a listing of the tree, before it is an index entry. */
export interface ListedDriver {
  /** The file name: `<name>_<target>_<kernelrelease>_<kernelversion>.{ko,o}`. */
  name: string;
  arch: string;
  /** Where it is, which for the oldest drivers is not `<ver>/<arch>/<name>`. */
  key: string;
  size: number;
  lastmodified: string;
  /** True for a file directly under its version folder (the oldest x86_64 drivers). */
  flat: boolean;
  sha256: string;
}

/**
 * Where a key of the tree sits as a driver: `<driver>/<ver>/<arch>/<file>`, or the oldest shape,
 * `<driver>/<ver>/<file>`, which held x86_64 drivers only (arch folders came with aarch64).
 * Undefined for anything else: listing pages, driver/site/, folders that are not driver versions,
 * names outside the driver grammar.
 */
export function placeDriverKey(
  cfg: ResolvedConfig,
  key: string,
): { version: string; arch: string; name: string; flat: boolean } | undefined {
  const root = `${cfg.prefixes.driver}/`;
  if (!key.startsWith(root)) return undefined;
  const parts = key.slice(root.length).split('/');
  if (parts.length !== 2 && parts.length !== 3) return undefined;
  const version = parts[0]!;
  if (!FOLDER_DRIVER_VERSION.test(version)) return undefined;
  const name = parts.at(-1)!;
  if (typeof parseDriverName(name) === 'string') return undefined;
  if (parts.length === 2) return { version, arch: 'x86_64', name, flat: true };
  const arch = driverArch(parts[1]!);
  return arch ? { version, arch, name, flat: false } : undefined;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Index order (file name, then arch), the same as compareDrivers. */
function byNameArch(a: { name: string; arch: string }, b: { name: string; arch: string }): number {
  return cmp(a.name, b.name) || cmp(a.arch, b.arch);
}

/**
 * Pure: one version's listed files in index order, one per (name, arch). A file in both places
 * (flat and under x86_64/) is indexed where the arch folder has it: that is the key today's
 * loaders build.
 */
export function orderListed(files: ListedDriver[]): ListedDriver[] {
  const sorted = [...files].sort((a, b) => byNameArch(a, b) || Number(a.flat) - Number(b.flat));
  return sorted.filter((f, i) => i === 0 || byNameArch(sorted[i - 1]!, f) !== 0);
}

function downloadUrl(cfg: ResolvedConfig, key: string): string {
  return `${cfg.baseUrl}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The index entry of a listed file; its sha256 is '' unless it was hashed. */
export function entryOfListed(cfg: ResolvedConfig, version: string, f: ListedDriver): DriverEntry {
  const parsed = parseDriverName(f.name);
  if (typeof parsed === 'string') throw new Error(`internal: ${f.key} was placed but does not parse`);
  return {
    lib: version,
    arch: f.arch,
    kind: parsed.driverKind,
    kernel: `${parsed.kernelRelease}_${parsed.kernelVersion}`,
    kernelrelease: parsed.kernelRelease,
    kernelversion: parsed.kernelVersion,
    target: parsed.target,
    name: f.name,
    download: downloadUrl(cfg, f.key),
    sizebytes: f.size,
    size: formatBytes(f.size),
    lastmodified: f.lastmodified,
    sha256: f.sha256,
  };
}

export interface VersionMerge {
  /** Index order; entries are built only as they are written. */
  items: (DriverEntry | ListedDriver)[];
  /** Listed files the published index did not have. */
  added: number;
  /** Published entries whose unknown sha256 this run filled in (--hash). */
  filled: number;
}

/**
 * Pure: the published entries of a version (in index order) with the listed files (in index
 * order). A published entry stays as it is, except that a sha256 it lacks is taken from a hashed
 * listing; a listed file it does not have is added. Published entries whose file is not in the
 * listing are kept: adopt only adds, as a publish does (prune removes).
 */
export function mergeListed(
  published: readonly DriverEntry[],
  listed: readonly ListedDriver[],
): VersionMerge {
  const items: (DriverEntry | ListedDriver)[] = [];
  let added = 0;
  let filled = 0;
  let p = 0;
  for (const f of listed) {
    while (p < published.length && byNameArch(published[p]!, f) < 0) items.push(published[p++]!);
    const cur = p < published.length && byNameArch(published[p]!, f) === 0 ? published[p++] : undefined;
    if (!cur) {
      added++;
      items.push(f);
    } else if (cur.sha256 === '' && f.sha256 !== '') {
      filled++;
      items.push({ ...cur, sha256: f.sha256 });
    } else {
      items.push(cur);
    }
  }
  while (p < published.length) items.push(published[p++]!);
  return { items, added, filled };
}

export interface AdoptedVersion {
  version: string;
  /** Driver files found in the listing (after dropping flat twins of arch-folder files). */
  files: number;
  /** Of those, directly under the version folder. */
  flat: number;
  added: number;
  filled: number;
  /** True when this run writes the version's index. */
  written: boolean;
}

export interface DriversAdoption {
  versions: AdoptedVersion[];
  /** Keys under the driver prefix that are not driver files (listing pages and driver/site/ excluded). */
  unrecognized: string[];
  /** Driver files read to hash them (--hash). */
  hashed: number;
  outputs: OutputFile[];
}

/** Listing pages and the driver browser are pkgpub's own, never drivers nor strays. */
function isOwnFile(cfg: ResolvedConfig, key: string): boolean {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return (
    key.startsWith(`${cfg.prefixes.driver}/site/`) ||
    name === 'index.html' ||
    name === 'listing.json' ||
    /^index-\d+\.html$/.test(name)
  );
}

/**
 * Driver indexes for every driver version in the tree, from one listing of the driver prefix:
 * no driver is downloaded, unless `hash` asks for the sha256 of those whose index has none (one
 * full read of each such file). Versions whose index already lists every file are not rewritten.
 */
export async function adoptDrivers(input: {
  store: ObjectStore;
  cfg: ResolvedConfig;
  now: Date;
  open?: OpenOutput;
  hash?: boolean;
  concurrency?: number;
  step?(line: string): void;
  /** The tree as the adopt listed it (else the driver prefix is listed here). */
  listed?: readonly ObjectInfo[];
}): Promise<DriversAdoption> {
  const { store, cfg } = input;
  const found = new Map<string, ListedDriver[]>();
  const unrecognized: string[] = [];
  const root = `${cfg.prefixes.driver}/`;
  for await (const o of input.listed ?? store.list(root)) {
    if (!o.key.startsWith(root)) continue;
    const at = placeDriverKey(cfg, o.key);
    if (!at) {
      if (!isOwnFile(cfg, o.key) && unrecognized.length < 1000) unrecognized.push(o.key);
      continue;
    }
    const files = found.get(at.version);
    if (files) files.push(listedOf(o, at));
    else found.set(at.version, [listedOf(o, at)]);
  }
  const published = await readDriverVersions(store, cfg);
  const versions = sortDriverVersions([...published, ...found.keys()]);
  const report: AdoptedVersion[] = [];
  const docs: OutputFile[] = [];
  let hashed = 0;
  const date = input.now.toISOString();
  for (const version of [...found.keys()].sort()) {
    const listed = orderListed(found.get(version)!);
    found.delete(version);
    const key = versionDocKey(cfg, version);
    const bytes = await store.get(key);
    const entries = bytes
      ? publishedInOrder(parseDriverVersionDoc(bytes, `${key} in ${store.description}`).drivers)
      : [];
    if (input.hash) hashed += await hashMissing(store, listed, entries, input.concurrency ?? 8);
    const merge = mergeListed(entries, listed);
    const written = !bytes || merge.added > 0 || merge.filled > 0;
    report.push({
      version,
      files: listed.length,
      flat: listed.filter((f) => f.flat).length,
      added: merge.added,
      filled: merge.filled,
      written,
    });
    input.step?.(
      `drivers ${version}: ${listed.length} files${written ? `, ${merge.added} added to the index` : ', index complete'}`,
    );
    if (!written) continue;
    const items = merge.items;
    const isListed = (d: DriverEntry | ListedDriver): d is ListedDriver => 'key' in d;
    docs.push(
      writeOutput(
        input.open ?? memoryOutput,
        key,
        'index',
        // Entries of listed files are built as their line is written, twice (filter values, then
        // lines), instead of held: a 100,000-driver version would hold 100,000 more objects.
        (out) => {
          // encodePendingDoc reads the items twice: first for the filter values, which need only
          // these four fields (no name parse, URL or size text for 100,000 files), then for the lines.
          let pass = 0;
          encodePendingDoc(
            out,
            date,
            function* () {
              const full = pass++ > 0;
              for (const d of items)
                yield !isListed(d) ? d : full ? entryOfListed(cfg, version, d) : filterFields(version, d);
            },
            () => {
              throw new Error('unreachable: no artifacts in an adopted index');
            },
          );
        },
        256 + items.length * 1024,
      ),
    );
  }
  const outputs: OutputFile[] = [...docs];
  const listChanged = renderVersionList(versions) !== renderVersionList(published);
  if (docs.length > 0 || listChanged) {
    outputs.push(bytesFile(versionListKey(cfg), 'pointer', renderVersionList(versions)));
    outputs.push(...(await driverSiteFiles(cfg, versions)));
  }
  return { versions: report, unrecognized, hashed, outputs };
}

/** What the version index's filter values read of an entry (lib, arch, kind, target), cheaply. */
function filterFields(version: string, f: ListedDriver): DriverEntry {
  const first = f.name.indexOf('_');
  return {
    lib: version,
    arch: f.arch,
    kind: f.name.endsWith('.ko') ? 'kmod' : 'ebpf',
    target: f.name.slice(first + 1, f.name.indexOf('_', first + 1)),
  } as DriverEntry;
}

function listedOf(o: ObjectInfo, at: { arch: string; name: string; flat: boolean }): ListedDriver {
  const t = o.lastModified.getTime();
  return {
    name: at.name,
    arch: at.arch,
    key: o.key,
    size: o.size,
    lastmodified: Number.isNaN(t) ? new Date(0).toISOString() : o.lastModified.toISOString(),
    flat: at.flat,
    // S3 objects pkgpub wrote carry their sha256 as metadata; a listing of another tool's has none.
    sha256: o.sha256 ?? '',
  };
}

/** Reads and hashes the listed files whose sha256 neither the listing nor the published index knows. */
async function hashMissing(
  store: ObjectStore,
  listed: ListedDriver[],
  published: readonly DriverEntry[],
  concurrency: number,
): Promise<number> {
  const known = new Set<string>();
  for (const e of published) if (e.sha256 !== '') known.add(`${e.name}\n${e.arch}`);
  const todo = listed.filter((f) => f.sha256 === '' && !known.has(`${f.name}\n${f.arch}`));
  await mapLimit(todo, concurrency, async (f) => {
    const s = await store.getStream(f.key);
    if (!s) return;
    const h = createHash('sha256');
    for await (const chunk of s) h.update(chunk as Buffer);
    f.sha256 = h.digest('hex');
  });
  return todo.length;
}
