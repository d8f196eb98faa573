import { mapLimit } from '../map-limit.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { bytesFile } from '../model/output-file.js';
import type { Plan } from '../model/plan.js';
import { memoryOutput, type OpenOutput, type TextSink, writeOutput } from '../model/text-output.js';
import type { OutputFile } from '../model/tiers.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';
import {
  type AppliedListings,
  affectedFolders,
  ASSETS_DIR,
  applyChanges,
  baseName,
  type FilePut,
  folderOf,
  isBookkeeping,
  isListingOutput,
  LISTING_JSON,
  type Listing,
  type ListingChanges,
  parentFolder,
  parseListing,
  writeListing,
} from './listing-model.js';
import { loadSiteTemplates, pageBase, pageNames, writeFolderPages } from './render-listing.js';
import { type ExistsFn, fingerprintOf, rootExtras, rootProbePaths } from './root-page.js';
import {
  currentExtensions,
  type KeyExtension,
  KEY_NOTICES_KEY,
  parseKeyNotices,
} from '../model/key-notices.js';

export interface BuildListingsInput {
  store: ObjectStore;
  cfg: ResolvedConfig;
  /** The publish's plan without listings: its PUTs and DELETEs are what changed. */
  plan: Plan;
  now: Date;
  /** Shown on the root page; read from the published key when absent. */
  fingerprint?: string;
  /** Rows per HTML page (tests use small pages). */
  pageSize?: number;
  concurrency?: number;
  /** Where pages and listing.json files are written as they are rendered (publish/spill.ts: big ones to temp files). */
  open?: OpenOutput;
  /**
   * The whole tree as the change listed it in this attempt, before writing anything: folders without
   * a listing.json are bootstrapped from it instead of from another listing of the store.
   */
  listed?: readonly ObjectInfo[];
}

export interface ListingOutputs {
  /** Pages, listing.json files and the shared assets: all tier 'listing'. */
  files: OutputFile[];
  /** Listing pages no longer needed (a folder became empty, or has fewer pages than before). */
  deletes: string[];
  /** Folders rendered, deepest first. */
  folders: string[];
}

/** Marks pages written by the listing renderer, so a rebuild can tell them from another builder's index.html. */
const GENERATOR_MARK = '<meta name="generator" content="pkgpub-listing">';

/** Outputs this module made: if they come back inside a plan they are not contents of a folder. */
const own = new WeakSet<OutputFile>();

function listingKey(folder: string): string {
  return `${folder}${LISTING_JSON}`;
}

/** What a plan changes, as listing changes; timestamps are the publish time. */
export function changesFromPlan(plan: Plan, now: Date): ListingChanges {
  const at = now.toISOString();
  const puts: FilePut[] = [];
  for (const t of plan.tiers) {
    for (const s of t.steps) {
      if (own.has(s.file)) continue;
      puts.push({ key: s.file.key, size: s.file.size, lastModified: at, sha256: s.file.sha256 });
    }
  }
  return { puts, deletes: [...plan.deletes] };
}

/** Whether an index.html found in the store is one of our listing pages (else another builder's). */
async function isOwnPage(store: ObjectStore, key: string): Promise<boolean> {
  const bytes = await store.get(key);
  if (!bytes) return false;
  return new TextDecoder().decode(bytes.subarray(0, 4096)).includes(GENERATOR_MARK);
}

/**
 * Turns a recursive store listing into listing puts as it streams by (the object infos of a
 * big tree are never all held), leaving out our own pages. Returns the listing outputs found
 * too, for clean-up after a rebuild.
 */
async function putsFromStore(
  store: ObjectStore,
  objects: AsyncIterable<ObjectInfo> | Iterable<ObjectInfo>,
  now: Date,
  concurrency: number,
): Promise<{ puts: FilePut[]; generated: string[] }> {
  const puts: FilePut[] = [];
  const generated: string[] = [];
  const indexes: FilePut[] = [];
  for await (const info of objects) {
    // pkgpub's bookkeeping (the lease, the garbage record, S3 probes) is neither content nor a page to delete.
    if (isBookkeeping(info.key)) continue;
    if (isListingOutput(info.key)) {
      if (!info.key.startsWith(`${ASSETS_DIR}/`)) generated.push(info.key);
      continue;
    }
    if (baseName(info.key) === 'index.html') indexes.push(putOf(info, now));
    else puts.push(putOf(info, now));
  }
  const ownPages = await mapLimit(indexes, concurrency, (i) => isOwnPage(store, i.key));
  indexes.forEach((put, i) => {
    if (ownPages[i]) generated.push(put.key);
    else puts.push(put);
  });
  return { puts, generated };
}

function putOf(info: ObjectInfo, now: Date): FilePut {
  // A backend that cannot tell an object's time (none of ours) gets the time of this run.
  const time = Number.isNaN(info.lastModified?.getTime()) ? now : info.lastModified;
  return {
    key: info.key,
    size: info.size,
    lastModified: time.toISOString(),
    ...(info.sha256 ? { sha256: info.sha256 } : {}),
  };
}

/** Fills in sha256s the store could not tell (a folder) from the listings published before. */
function addKnownDigests(puts: FilePut[], listings: Map<string, Listing>): void {
  const known = knownDigests(listings);
  for (const p of puts) {
    if (p.sha256) continue;
    const sha = known(p.key, p.size);
    if (sha) p.sha256 = sha;
  }
}

/** sha256s recorded in old listings: a folder store cannot tell them without reading every file. */
function knownDigests(listings: Map<string, Listing>): (key: string, size: number) => string | undefined {
  const byFolder = new Map<string, Map<string, Listing['entries'][number]>>();
  return (key, size) => {
    const folder = folderOf(key);
    let m = byFolder.get(folder);
    if (!m) {
      m = new Map((listings.get(folder)?.entries ?? []).map((e) => [e.name, e]));
      byFolder.set(folder, m);
    }
    const e = m.get(baseName(key));
    return e && e.type === 'file' && e.size === size ? e.sha256 : undefined;
  };
}

async function readListings(
  store: ObjectStore,
  folders: string[],
  concurrency: number,
): Promise<Map<string, Listing>> {
  const got = await mapLimit(folders, concurrency, async (f) =>
    parseListing(f, await store.get(listingKey(f))),
  );
  const out = new Map<string, Listing>();
  folders.forEach((f, i) => {
    const l = got[i];
    if (l) out.set(f, l);
  });
  return out;
}

/**
 * The listings a publish changes: reads back the listing.json of every folder its writes and
 * deletes touch (and their ancestors), applies them, and renders only those folders. A folder
 * without a listing.json yet (a tree published before listings existed) is listed from the
 * store once, with everything below it.
 */
export async function buildListings(input: BuildListingsInput): Promise<ListingOutputs> {
  const got = await applyPlanToListings(input);
  if (!got) return { files: [], deletes: [], folders: [] };
  return render({
    cfg: input.cfg,
    applied: got.applied,
    previous: got.loaded,
    now: input.now,
    ...optional(input),
  });
}

/**
 * The listing side of buildListings, a function of its own so the puts (one per planned key)
 * are garbage before the pages are rendered.
 */
async function applyPlanToListings(
  input: BuildListingsInput,
): Promise<{ applied: AppliedListings; loaded: Map<string, Listing> } | undefined> {
  const { store, cfg } = input;
  const concurrency = input.concurrency ?? 8;
  const planned = changesFromPlan(input.plan, input.now);
  if (planned.puts.length === 0 && planned.deletes.length === 0) return undefined;

  const affected = affectedFolders(planned);
  const probeFolders = rootProbePaths(cfg).map(folderOf);
  const wanted = [...new Set([...affected, ...probeFolders])];
  const loaded = await readListings(store, wanted, concurrency);

  // Bootstrap the topmost folders that have no listing.json from a listing of the store.
  const missing = affected.filter((f) => !loaded.has(f));
  const missingSet = new Set(missing);
  const tops = missing.filter((f) => {
    const p = parentFolder(f);
    return p === undefined || !missingSet.has(p);
  });
  const bootstrap: FilePut[] = [];
  for (const top of tops) {
    const objects = input.listed ? below(input.listed, top) : store.list(top);
    const { puts } = await putsFromStore(store, objects, input.now, concurrency);
    addKnownDigests(puts, loaded);
    // A loop, not push(...puts): a spread of 100k+ arguments can overflow the stack.
    for (const p of puts) bootstrap.push(p);
    // The store listing is the whole truth below `top`: stray listings there are not kept.
    for (const f of [...loaded.keys()]) if (f.startsWith(top)) loaded.delete(f);
  }
  for (const p of planned.puts) bootstrap.push(p);
  const changes: ListingChanges = { puts: bootstrap, deletes: planned.deletes };
  return { applied: applyChanges(loaded, changes), loaded };
}

function* below(listed: readonly ObjectInfo[], top: string): Iterable<ObjectInfo> {
  for (const o of listed) if (o.key.startsWith(top)) yield o;
}

function optional(input: {
  fingerprint?: string;
  pageSize?: number;
  store: ObjectStore;
  plan?: Plan;
  open?: OpenOutput;
}) {
  return {
    store: input.store,
    ...(input.fingerprint ? { fingerprint: input.fingerprint } : {}),
    ...(input.pageSize ? { pageSize: input.pageSize } : {}),
    ...(input.plan ? { plan: input.plan } : {}),
    ...(input.open ? { open: input.open } : {}),
  };
}

/**
 * Every folder's listing from scratch, from one recursive listing of the store (`pkgpub site
 * rebuild`): for a tree whose listings are missing or damaged, or after a template change.
 * Stale listing pages of folders that no longer exist are returned as deletes.
 */
export async function rebuildAllListings(
  store: ObjectStore,
  cfg: ResolvedConfig,
  now: Date,
  fingerprint?: string,
  opts: { pageSize?: number; concurrency?: number; open?: OpenOutput } = {},
): Promise<ListingOutputs> {
  const { applied, generated } = await listTree(store, now, opts.concurrency ?? 8);
  if (!applied.changed.includes('')) {
    // An empty tree still gets a root page explaining that nothing is published yet.
    applied.listings.set('', { path: '', entries: [] });
    applied.changed.push('');
  }
  const out = await render({
    cfg,
    applied,
    previous: new Map(),
    store,
    now,
    ...(fingerprint ? { fingerprint } : {}),
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
    ...(opts.open ? { open: opts.open } : {}),
  });
  const written = new Set(out.files.map((f) => f.key));
  out.deletes = [...new Set([...out.deletes, ...generated.filter((k) => !written.has(k))])].sort();
  return out;
}

/** Every folder's listing from the store; its own function so the puts die before rendering. */
async function listTree(
  store: ObjectStore,
  now: Date,
  concurrency: number,
): Promise<{ applied: AppliedListings; generated: string[] }> {
  const { puts, generated } = await putsFromStore(store, store.list(''), now, concurrency);
  const listingFolders = generated.filter((k) => baseName(k) === LISTING_JSON).map(folderOf);
  addKnownDigests(puts, await readListings(store, listingFolders, concurrency));
  return { applied: applyChanges(new Map(), { puts, deletes: [] }), generated };
}

interface RenderInput {
  cfg: ResolvedConfig;
  applied: AppliedListings;
  /** Listings as they were before this change (for pages to delete). */
  previous: Map<string, Listing>;
  store: ObjectStore;
  /** The run's time: the root page's key notices end when the old copies expire. */
  now: Date;
  /** The publish's plan: keys it writes are never deleted, whatever the listing thinks. */
  plan?: Plan;
  fingerprint?: string;
  pageSize?: number;
  open?: OpenOutput;
}

async function render(input: RenderInput): Promise<ListingOutputs> {
  const { cfg, applied, previous } = input;
  const t = await loadSiteTemplates();
  const view = (folder: string): Listing | undefined =>
    applied.listings.get(folder) ?? (applied.removed.includes(folder) ? undefined : previous.get(folder));
  const exists: ExistsFn = (path) => {
    const folder = folderOf(path);
    return view(folder)?.entries.some((e) => e.name === baseName(path)) ?? false;
  };

  const files: OutputFile[] = [];
  const deletes: string[] = [];
  const ctx = { project: cfg.project, ...(input.pageSize ? { pageSize: input.pageSize } : {}) };
  const open = input.open ?? memoryOutput;
  // Written one at a time, so a big folder's pages are never all held at once.
  const emit = (key: string, fill: (out: TextSink) => void, expected: number) => {
    const f = writeOutput(open, key, 'listing', fill, expected);
    own.add(f);
    files.push(f);
  };
  for (const folder of applied.changed) {
    const listing = applied.listings.get(folder)!;
    let extras: Record<string, unknown> | undefined;
    if (folder === '') {
      const fpr = input.fingerprint ?? (await publishedFingerprint(input.store, cfg, input.plan));
      extras = await rootExtras(cfg, exists, fpr, await keyNoticesAt(input.store, input.plan, input.now));
    }
    const base = pageBase(listing);
    const names: string[] = [];
    writeFolderPages(t, listing, ctx, extras, (name, fill, expected) => {
      names.push(name);
      emit(`${folder}${name}`, fill, expected);
    });
    const stored: Listing = { ...listing, pages: names.length, html: base };
    emit(listingKey(folder), (out) => writeListing(out, stored), 256 + stored.entries.length * 256);
    const prev = previous.get(folder);
    if (prev) {
      // Pages the folder no longer has, unless a file of the folder now has that name.
      const gone = new Set(pageNames(prev.html ?? 'index', prev.pages ?? 1));
      for (const name of names) gone.delete(name);
      for (const e of listing.entries) gone.delete(e.name);
      for (const name of gone) deletes.push(`${folder}${name}`);
    }
  }
  for (const folder of applied.removed) {
    const prev = previous.get(folder);
    const names = prev ? pageNames(prev.html ?? 'index', prev.pages ?? 1) : ['index.html'];
    for (const n of [...names, LISTING_JSON]) deletes.push(`${folder}${n}`);
  }
  for (const [name, a] of t.assets) {
    const f = bytesFile(`${ASSETS_DIR}/${name}`, 'listing', a.bytes);
    own.add(f);
    files.push(f);
  }
  // One pass over the plan instead of a set of every key it writes (100k for a driver version).
  const drop = new Set(deletes);
  if (input.plan) for (const t of input.plan.tiers) for (const s of t.steps) drop.delete(s.file.key);
  return {
    files,
    deletes: [...drop].sort(),
    folders: applied.changed,
  };
}

/** The key extensions the root page tells about: from this run's record, else the published one. */
async function keyNoticesAt(store: ObjectStore, plan: Plan | undefined, now: Date): Promise<KeyExtension[]> {
  const step = plan?.tiers.flatMap((t) => t.steps).find((s) => s.file.key === KEY_NOTICES_KEY);
  const bytes = step && 'bytes' in step.file.body ? step.file.body.bytes : await store.get(KEY_NOTICES_KEY);
  return currentExtensions(parseKeyNotices(bytes), now);
}

/** The key's fingerprint for the root page: from this publish's key file, else the published one. */
async function publishedFingerprint(
  store: ObjectStore,
  cfg: ResolvedConfig,
  plan?: Plan,
): Promise<string | undefined> {
  const alias = `${cfg.prefixes.keys}/${cfg.project}-packages.asc`;
  const step = plan?.tiers.flatMap((t) => t.steps).find((s) => s.file.key === alias);
  if (step && 'bytes' in step.file.body) return fingerprintOf(step.file.body.bytes);
  return fingerprintOf(await store.get(alias));
}
