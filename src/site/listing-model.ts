import { parseLinedDocument } from '../formats/lined-json.js';
import type { TextSink } from '../model/text-output.js';
import { Utf8Sink } from '../model/utf8-sink.js';

/**
 * The listing of one folder as `listing.json` stores it. The published tree keeps these files
 * as the listings' own state: a publish reads back the listings of the folders it touches,
 * applies its writes and deletes, and renders only those folders (never listing the tree).
 */
export interface ListingEntry {
  name: string;
  type: 'file' | 'dir';
  /** Bytes; for a folder the total of everything below it. */
  size: number;
  /** UTC ISO time; for a folder the newest time below it. */
  lastModified: string;
  sha256?: string;
  /** A detached signature `<name>.asc` sits beside this file. */
  asc?: true;
}

export interface Listing {
  /** The folder's key prefix with a trailing slash ("packages/deb/"); '' for the root. */
  path: string;
  entries: ListingEntry[];
  /** How many HTML pages the folder was rendered to (so a shrinking folder can drop the extra ones). */
  pages?: number;
  /** Base name of the rendered pages: 'listing' when another builder owns the folder's index.html. */
  html?: 'index' | 'listing';
}

export interface FilePut {
  key: string;
  size: number;
  lastModified: string;
  sha256?: string;
}

export interface ListingChanges {
  /** Applied in order, so a later put of the same key wins. */
  puts: FilePut[];
  /** Applied after the puts. */
  deletes: string[];
}

export interface AppliedListings {
  /** The new listing of every folder whose contents changed (folders that became empty excluded). */
  listings: Map<string, Listing>;
  /** Folders whose listing changed, deepest first. */
  changed: string[];
  /** Folders that became empty: their listing files go, and their parents no longer show them. */
  removed: string[];
}

/** Names the listing pages themselves use; never shown as entries. */
export const LISTING_JSON = 'listing.json';
const GENERATED_PAGE = /^(index|listing)(-[1-9][0-9]*)?\.html$/;
/** Folder (below the root) holding the listings' shared stylesheet and script. */
export const ASSETS_DIR = '_site';

/**
 * Keys a listing never shows: the pages and json listings builds write, and the shared assets.
 * `index.html` is not among them: another builder may own one (the driver browser); the
 * caller decides whether a given index.html is a listing page.
 */
export function isListingOutput(key: string): boolean {
  if (key.startsWith(`${ASSETS_DIR}/`)) return true;
  if (isBookkeeping(key)) return true;
  const name = baseName(key);
  return name === LISTING_JSON || (GENERATED_PAGE.test(name) && name !== 'index.html');
}

/**
 * A name the listing renderer writes in every folder (index.html, its pages, listing.json): never
 * an index a repository builder may retire, though it sits among them.
 */
export function isListingPageName(name: string): boolean {
  return name === LISTING_JSON || GENERATED_PAGE.test(name);
}

/**
 * pkgpub's own bookkeeping objects (the lease, the garbage record, S3 capability probes, and
 * everything in a `.pkgpub…` folder: the channel histories): never content.
 */
export function isBookkeeping(key: string): boolean {
  return key.split('/').some((segment) => segment.startsWith('.pkgpub'));
}

export function folderOf(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i + 1);
}

export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** "a/b/" -> "a/"; "a/" -> ""; '' has no parent. */
export function parentFolder(folder: string): string | undefined {
  if (folder === '') return undefined;
  return folderOf(folder.slice(0, -1));
}

/** Every folder from the key's own folder up to the root, deepest first. */
export function foldersAbove(key: string): string[] {
  const out: string[] = [];
  let f: string | undefined = folderOf(key);
  while (f !== undefined) {
    out.push(f);
    f = parentFolder(f);
  }
  return out;
}

/** The folders whose listing.json a set of changes needs (their ancestors included). */
export function affectedFolders(changes: ListingChanges): string[] {
  const set = new Set<string>();
  const add = (key: string) => {
    for (let f = folderOf(key) as string | undefined; f !== undefined; f = parentFolder(f)) {
      if (set.has(f)) break;
      set.add(f);
    }
  };
  // Key by key: a 100k-file publish builds no array of its keys here.
  for (const p of changes.puts) add(p.key);
  for (const k of changes.deletes) add(k);
  return [...set];
}

function depth(folder: string): number {
  let n = 0;
  for (let i = 0; i < folder.length; i++) if (folder.charCodeAt(i) === 47) n++;
  return n;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Folders first, then by name (code-point order, so the result does not depend on a locale). */
export function compareEntries(a: ListingEntry, b: ListingEntry): number {
  if (a.type !== b.type) return a.type === 'dir' ? -1 : 1;
  return cmp(a.name, b.name);
}

/**
 * Pure: applies writes and deletes to the listings of the affected folders (missing ones are
 * taken as empty), creates folder entries up to the root, drops folders that became empty from
 * their parents, and refreshes folder sizes and times. The input map is not modified.
 */
export function applyChanges(listings: Map<string, Listing>, changes: ListingChanges): AppliedListings {
  const work = new Map<string, Map<string, ListingEntry>>();
  const meta = new Map<string, Listing>();
  const load = (folder: string): Map<string, ListingEntry> => {
    let m = work.get(folder);
    if (!m) {
      const cur = listings.get(folder);
      m = new Map((cur?.entries ?? []).map((e) => [e.name, e]));
      if (cur) meta.set(folder, cur);
      work.set(folder, m);
    }
    return m;
  };
  const dirty = new Set<string>();
  for (const p of changes.puts) {
    if (isListingOutput(p.key)) continue;
    const folder = folderOf(p.key);
    const name = baseName(p.key);
    const entry: ListingEntry = { name, type: 'file', size: p.size, lastModified: p.lastModified };
    if (p.sha256) entry.sha256 = p.sha256;
    load(folder).set(name, entry);
    dirty.add(folder);
  }
  for (const key of changes.deletes) {
    if (isListingOutput(key)) continue;
    const folder = folderOf(key);
    const m = load(folder);
    if (m.get(baseName(key))?.type === 'file') {
      m.delete(baseName(key));
      dirty.add(folder);
    }
  }

  // Deepest first, so a folder's total is final before its parent reads it.
  const removed: string[] = [];
  const changed: string[] = [];
  const byDepth: Set<string>[] = [];
  const enqueue = (folder: string) => {
    const d = depth(folder);
    for (let i = byDepth.length; i <= d; i++) byDepth.push(new Set());
    byDepth[d]!.add(folder);
  };
  for (const f of dirty) enqueue(f);
  for (let d = byDepth.length - 1; d >= 0; d--) {
    for (const folder of [...byDepth[d]!].sort(cmp)) {
      const m = load(folder);
      const parent = parentFolder(folder);
      if (m.size === 0 && parent !== undefined) removed.push(folder);
      else changed.push(folder);
      if (parent === undefined) continue;
      const pm = load(parent);
      const name = folder.slice(parent.length, -1);
      if (m.size === 0) {
        if (pm.get(name)?.type === 'dir') pm.delete(name);
      } else {
        let size = 0;
        let newest = '';
        for (const e of m.values()) {
          size += e.size;
          if (e.lastModified > newest) newest = e.lastModified;
        }
        pm.set(name, { name, type: 'dir', size, lastModified: newest });
      }
      enqueue(parent);
    }
  }

  const out = new Map<string, Listing>();
  for (const folder of changed) {
    const prev = meta.get(folder);
    const listing: Listing = { path: folder, entries: normalize(load(folder)) };
    if (prev?.pages !== undefined) listing.pages = prev.pages;
    if (prev?.html !== undefined) listing.html = prev.html;
    out.set(folder, listing);
  }
  return { listings: out, changed, removed };
}

/**
 * A folder's entries (by name) sorted, with each file's `asc` flag derived from its neighbours
 * (so it never goes stale).
 */
function normalize(byName: Map<string, ListingEntry>): ListingEntry[] {
  // Entries are shared with the input listings: copy only the ones whose flag changes.
  return Array.from(byName.values(), (e) => {
    const want = e.type === 'file' && byName.get(`${e.name}.asc`)?.type === 'file';
    if (want === (e.asc === true)) return e;
    if (want) return { ...e, asc: true as const };
    const { asc: _drop, ...rest } = e;
    return rest;
  }).sort(compareEntries);
}

/** A `.asc` is folded into its file's row when that file is in the same folder. */
export function isFoldedSignature(e: ListingEntry, names: Set<string>): boolean {
  return e.type === 'file' && e.name.endsWith('.asc') && names.has(e.name.slice(0, -4));
}

/**
 * Reads a listing.json back; undefined when it is missing or not one of ours (then it is rebuilt).
 * As written (one entry per line) it is parsed line by line: a 100,000-file folder's is ~20 MB.
 */
export function parseListing(folder: string, bytes: Uint8Array | undefined): Listing | undefined {
  if (!bytes) return undefined;
  let doc: unknown = parseLinedDocument(bytes, 'entries');
  if (!doc) {
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return undefined;
    }
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Partial<Listing>;
  if (d.path !== folder || !Array.isArray(d.entries)) return undefined;
  // Validated in place: a big folder's listing is parsed once and not copied.
  const entries = d.entries as ListingEntry[];
  // Most entries of a folder share a handful of times: each is kept once.
  const times = new Map<string, string>();
  for (const e of entries as unknown[]) {
    if (typeof e !== 'object' || e === null) return undefined;
    const x = e as Partial<ListingEntry>;
    if (typeof x.name !== 'string' || x.name === '' || x.name.includes('/')) return undefined;
    if (
      (x.type !== 'file' && x.type !== 'dir') ||
      typeof x.size !== 'number' ||
      typeof x.lastModified !== 'string'
    )
      return undefined;
    if (x.sha256 !== undefined && (typeof x.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(x.sha256)))
      return undefined;
    if (x.asc !== undefined && x.asc !== true) return undefined;
    if (Object.keys(x).length > 4 + (x.sha256 !== undefined ? 1 : 0) + (x.asc !== undefined ? 1 : 0))
      return undefined;
    const time = times.get(x.lastModified);
    if (time === undefined) times.set(x.lastModified, x.lastModified);
    else x.lastModified = time;
  }
  const listing: Listing = { path: folder, entries };
  if (typeof d.pages === 'number' && Number.isInteger(d.pages) && d.pages >= 1) listing.pages = d.pages;
  if (d.html === 'index' || d.html === 'listing') listing.html = d.html;
  return listing;
}

/**
 * A listing.json's text, written an entry at a time: one entry per line (readable diffs, and a
 * 100k-entry folder stays one cheap parse).
 */
export function writeListing(out: TextSink, l: Listing): void {
  const head: Record<string, unknown> = { path: l.path };
  if (l.pages !== undefined) head.pages = l.pages;
  if (l.html !== undefined) head.html = l.html;
  out.write(`${JSON.stringify(head).slice(0, -1)},"entries":[`);
  l.entries.forEach((e, i) => {
    out.write(i === 0 ? '\n' : ',\n');
    out.write(JSON.stringify(e));
  });
  out.write(l.entries.length ? '\n]}\n' : ']}\n');
}

export function serializeListing(l: Listing): string {
  const out = new Utf8Sink(256 + l.entries.length * 256);
  writeListing(out, l);
  return new TextDecoder().decode(out.bytes());
}
