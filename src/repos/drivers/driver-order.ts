import type { DriverArtifact } from '../../artifacts/types.js';
import type { DriverEntry } from './driver-index.js';

/**
 * A line of a version index: published (an entry) or new in this publish (an artifact, whose
 * entry is built only while its line is written).
 */
export type DriverItem = DriverEntry | DriverArtifact;

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function nameOf(d: DriverItem): string {
  return d.kind === 'driver' ? d.fileName : d.name;
}

/**
 * The order of a version index: by file name, then arch. One file per (name, arch), so equal
 * contents give equal bytes, and a merge of two ordered lists needs no map of either.
 */
export function compareDrivers(a: DriverItem, b: DriverItem): number {
  return cmp(nameOf(a), nameOf(b)) || cmp(a.arch, b.arch);
}

/**
 * Published entries in index order, one per file. An index this tool wrote is already so and is
 * returned as it is; another tool's is sorted, the last of duplicates winning.
 */
export function publishedInOrder(entries: DriverEntry[]): DriverEntry[] {
  let ordered = true;
  for (let i = 1; i < entries.length && ordered; i++)
    ordered = compareDrivers(entries[i - 1]!, entries[i]!) < 0;
  if (ordered) return entries;
  // Stable, so among duplicates the later one in the index stays later.
  const sorted = [...entries].sort(compareDrivers);
  return sorted.filter((e, i) => i + 1 === sorted.length || compareDrivers(e, sorted[i + 1]!) !== 0);
}

/**
 * Two lists in index order, each one item per file, as one; a new file replaces the published
 * entry of the same file.
 */
export function* mergeDrivers(
  published: readonly DriverEntry[],
  fresh: Iterable<DriverArtifact>,
): Generator<DriverItem> {
  let p = 0;
  for (const d of fresh) {
    while (p < published.length && compareDrivers(published[p]!, d) < 0) yield published[p++]!;
    if (p < published.length && compareDrivers(published[p]!, d) === 0) p++;
    yield d;
  }
  while (p < published.length) yield published[p++]!;
}
