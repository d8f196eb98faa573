import type { ResolvedConfig } from '../../config/resolve.js';
import { ContentConflictError } from '../../errors.js';
import { HISTORY_DIR, type Snapshot } from '../../model/history.js';
import { bytesOutput, memoryOutput, type OpenOutput } from '../../model/text-output.js';
import type { OutputFile } from '../../model/tiers.js';
import { driverKey, type ReadDoc } from './build-drivers.js';
import type { DriverEntry } from './driver-index.js';

/**
 * The driver tree in its history record (`.pkgpub-history/drivers.json`): part `drivers` is
 * index.json's text, part `drivers/<version>` the sha256 of that version's json ('' when there is
 * none). A version json can be ~50 MB, so the record holds only its sha256; the bytes of one a
 * change replaces are kept by content at `.pkgpub-history/drivers/<sha256>.json`, named by the
 * generation before that change, and go when it leaves the history.
 */
export const LIST_PART = 'drivers';
const VERSION_PART = 'drivers/';

export const versionPart = (version: string): string => `${VERSION_PART}${version}`;

export function versionsOfParts(parts: Iterable<string>): string[] {
  const out: string[] = [];
  for (const p of parts) if (p.startsWith(VERSION_PART)) out.push(p.slice(VERSION_PART.length));
  return out.sort();
}

/** Where a replaced version json is kept, by the sha256 of its bytes. */
export function keptDocKey(sha256: string): string {
  return `${HISTORY_DIR}/drivers/${sha256}.json`;
}

/**
 * The copy of a version json a change replaces (its bytes as this attempt read them), through
 * `open` so a big one goes to the spill at once.
 */
export function keptDoc(doc: ReadDoc, open: OpenOutput = memoryOutput): OutputFile {
  const key = keptDocKey(doc.sha256);
  const out = bytesOutput(open, key, 'content-addressed', doc.bytes);
  // Under its sha256 only the very bytes it names.
  if (out.sha256 !== doc.sha256) throw new Error(`internal: ${key} would hold other bytes`);
  return out;
}

/** The history's parts of a read: index.json's text and each version json's sha256. */
export function readSnapshotOf(listText: string, read: ReadonlyMap<string, ReadDoc>): Snapshot {
  const out: Snapshot = { [LIST_PART]: listText };
  for (const [v, doc] of read) out[versionPart(v)] = doc.sha256;
  return out;
}

/**
 * The key of a listed driver: where its download URL points inside this tree (an adopted index
 * may name the flat `driver/<version>/<file>`), else where a publish puts it.
 */
export function entryKey(cfg: ResolvedConfig, version: string, e: DriverEntry): string {
  const base = `${cfg.baseUrl}/`;
  if (e.download.startsWith(base)) {
    try {
      const key = e.download.slice(base.length).split('/').map(decodeURIComponent).join('/');
      if (key.startsWith(`${cfg.prefixes.driver}/`)) return key;
    } catch {
      // A URL that does not decode names no key of ours: fall back to the publish layout.
    }
  }
  return driverKey(cfg, version, e.arch, e.name);
}

export interface VersionRestore {
  /** Drivers the target lists and the current json does not: they must still be in the tree. */
  back: { key: string; sha256: string; size: number }[];
  /** Keys of drivers the current json lists and the target does not. */
  gone: string[];
  added: string[];
  removed: string[];
}

/**
 * Pure: what putting `target`'s list of a version back in place of `current`'s means. A driver
 * both list with different bytes was replaced with --force since: its old bytes are gone, so that
 * is a conflict, never a silent mismatch. An empty sha256 (adopted without --hash) is unknown,
 * not different.
 */
export function restoreVersion(
  cfg: ResolvedConfig,
  version: string,
  current: readonly DriverEntry[],
  target: readonly DriverEntry[],
): VersionRestore {
  const label = (e: DriverEntry) => [version, e.arch, e.name].join('/');
  const now = new Map<string, DriverEntry>();
  for (const e of current) now.set(entryKey(cfg, version, e), e);
  const out: VersionRestore = { back: [], gone: [], added: [], removed: [] };
  const kept = new Set<string>();
  for (const e of target) {
    const key = entryKey(cfg, version, e);
    kept.add(key);
    const cur = now.get(key);
    if (!cur) {
      out.back.push({ key, sha256: e.sha256, size: e.sizebytes });
      out.added.push(label(e));
    } else if (cur.sha256 !== e.sha256 && cur.sha256 !== '' && e.sha256 !== '') {
      throw new ContentConflictError(
        `cannot roll back drivers: ${key} was published again with other bytes since that generation (--force), so its old bytes are gone`,
      );
    }
  }
  for (const [key, e] of now)
    if (!kept.has(key)) {
      out.gone.push(key);
      out.removed.push(label(e));
    }
  return out;
}
