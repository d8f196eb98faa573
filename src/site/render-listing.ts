import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ejs from 'ejs';
import { sha256Hex } from '../artifacts/checksums.js';
import { formatBytes } from '../format-bytes.js';
import type { TextSink } from '../model/text-output.js';
import { packageRoot } from '../repos/templates.js';
import {
  ASSETS_DIR,
  isFoldedSignature,
  LISTING_JSON,
  type Listing,
  type ListingEntry,
} from './listing-model.js';
import { Utf8Sink } from '../model/utf8-sink.js';

/** Rows per HTML page; bigger folders are split into index.html, index-2.html, ... */
export const PAGE_SIZE = 2000;

/** The stylesheet and script every listing page loads (relative to the tree's root). */
export const ASSET_FILES = ['style.css', 'listing.js'] as const;

type Template = (data: Record<string, unknown>) => string;

/** Every name the templates read (strict mode has no `with`). */
const LOCALS = [
  'title',
  'heading',
  'isRoot',
  'crumbs',
  'parentHref',
  'assets',
  'jsonHref',
  'summary',
  'rows',
  'pages',
  'pager',
  'install',
  // partials/row.ejs: one table row.
  'r',
];

const HTML_SPECIAL = /[&<>"']/;
const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};

/**
 * What every <%= %> goes through: the same five characters ejs escapes by default, with a
 * fast path for the common string that has none of them.
 */
export function escapeHtml(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return HTML_SPECIAL.test(s) ? s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!) : s;
}

export interface SiteTemplates {
  listing: Template;
  root: Template;
  /** One row of the entries table, the same partial the page templates include. */
  row: Template;
  /** Asset name -> bytes, and a short content hash for cache-busting query strings. */
  assets: Map<string, { bytes: Uint8Array; version: string }>;
}

let cached: Promise<SiteTemplates> | undefined;

/** Compiles the templates in site/ once per process. */
export function loadSiteTemplates(): Promise<SiteTemplates> {
  cached ??= (async () => {
    const dir = join(packageRoot(), 'site');
    const compile = async (name: string): Promise<Template> => {
      const file = join(dir, name);
      // strict + destructured locals: no `with`, which is what makes ejs slow on 100k rows.
      const fn = ejs.compile(await readFile(file, 'utf8'), {
        filename: file,
        cache: true,
        strict: true,
        compileDebug: false,
        destructuredLocals: LOCALS,
        escape: escapeHtml,
      });
      return (data) => fn(data) as string;
    };
    const assets = new Map<string, { bytes: Uint8Array; version: string }>();
    for (const a of ASSET_FILES) {
      const bytes = await readFile(join(dir, a));
      assets.set(a, { bytes, version: sha256Hex(bytes).slice(0, 12) });
    }
    return {
      listing: await compile('listing.ejs'),
      root: await compile('root.ejs'),
      row: await compile(join('partials', 'row.ejs')),
      assets,
    };
  })();
  return cached;
}

export interface RenderContext {
  project: string;
  pageSize?: number;
}

export interface RenderedPage {
  /** Page file name inside the folder: index.html, index-2.html, ... */
  name: string;
  html: string;
}

/** What the root page adds above its listing (see root-page.ts). */
export type RootExtras = Record<string, unknown>;

interface Row {
  name: string;
  href: string;
  dir: boolean;
  size: number;
  human: string;
  shown: string;
  sha256?: string;
  ascHref?: string;
}

/**
 * One path segment in an href: '+', '#', '?', '%', quotes and spaces all percent-encoded
 * (encodeURIComponent, plus the !'()* it leaves alone).
 */
export function hrefSegment(name: string): string {
  return encodeURIComponent(name).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Page file names for a folder rendered to `pages` pages. */
export function pageNames(base: 'index' | 'listing', pages: number): string[] {
  return Array.from({ length: pages }, (_, i) => (i === 0 ? `${base}.html` : `${base}-${i + 1}.html`));
}

/** Which base name a folder's pages take: another builder's index.html (the driver browser) wins. */
export function pageBase(listing: Listing): 'index' | 'listing' {
  return listing.entries.some((e) => e.type === 'file' && e.name === 'index.html') ? 'listing' : 'index';
}

/** UTC ISO 8601 to the second: readable, and a valid <time> value without a datetime attribute. */
function shownTime(iso: string): string {
  return iso.replace(/(\.\d+)?Z$/, 'Z');
}

/** The entries that get a row of their own: a signature beside its file is a link in that row. */
function visibleEntries(listing: Listing): ListingEntry[] {
  // A folder without signatures (a driver folder of 100,000 files) needs no set of its names.
  if (!listing.entries.some((e) => e.type === 'file' && e.name.endsWith('.asc'))) return listing.entries;
  const names = new Set(listing.entries.map((e) => e.name));
  return listing.entries.filter((e) => !isFoldedSignature(e, names));
}

/** `shown`: most entries of a folder share a handful of times, so each is formatted once. */
function rowOf(e: ListingEntry, shown: Map<string, string>): Row {
  const dir = e.type === 'dir';
  let when = shown.get(e.lastModified);
  if (when === undefined) {
    when = shownTime(e.lastModified);
    shown.set(e.lastModified, when);
  }
  const row: Row = {
    name: e.name,
    href: dir ? `${hrefSegment(e.name)}/index.html` : hrefSegment(e.name),
    dir,
    size: e.size,
    human: formatBytes(e.size),
    shown: when,
  };
  if (e.sha256) row.sha256 = e.sha256;
  if (e.asc) row.ascHref = hrefSegment(`${e.name}.asc`);
  return row;
}

/**
 * Stands in for a page's rows while its frame (everything around them) is rendered; key
 * validation refuses NUL, so no real name renders to the same text.
 */
const MARK_ROW: Row = { name: '\0pkgpub-rows\0', href: '', dir: false, size: 0, human: '', shown: '' };

function pagerOf(base: 'index' | 'listing', page: number, pages: number) {
  const names = pageNames(base, pages);
  const wanted = new Set([1, pages]);
  for (let p = page - 3; p <= page + 3; p++) if (p >= 1 && p <= pages) wanted.add(p);
  const links = [...wanted]
    .sort((a, b) => a - b)
    .map((n) => ({ n, href: names[n - 1]!, current: n === page }));
  return {
    page,
    pages,
    links,
    prev: page > 1 ? names[page - 2] : undefined,
    next: page < pages ? names[page] : undefined,
  };
}

/**
 * Renders one folder to its HTML pages. Links are relative (the tree works under any base URL
 * or bucket prefix, and from a plain bucket without index-document support), and every name
 * goes through ejs escaping in text and attributes and through encodeURIComponent in hrefs.
 */
export function renderFolderPages(
  t: SiteTemplates,
  listing: Listing,
  ctx: RenderContext,
  root?: RootExtras,
): RenderedPage[] {
  const pages: RenderedPage[] = [];
  writeFolderPages(t, listing, ctx, root, (name, fill, expected) => {
    const out = new Utf8Sink(expected);
    fill(out);
    pages.push({ name, html: new TextDecoder().decode(out.bytes()) });
  });
  return pages;
}

/** Takes one page: its file name, what writes its text into an output, and a guess of its size. */
export type PageFn = (name: string, fill: (out: TextSink) => void, expected: number) => void;

/**
 * The same pages one at a time, written into outputs the caller opens. A page's frame is
 * rendered around a stand-in row, and its rows are encoded one by one between the two halves: a
 * page of 2,000 rows is never one ~1 MB template string (which V8 keeps in large-object space
 * until a full collection), and each page is handed on before the next is rendered.
 */
export function writeFolderPages(
  t: SiteTemplates,
  listing: Listing,
  ctx: RenderContext,
  root: RootExtras | undefined,
  page: PageFn,
): void {
  const folder = listing.path;
  const segments = folder === '' ? [] : folder.slice(0, -1).split('/');
  const up = '../'.repeat(segments.length);
  const asset = (name: string) => `${up}${ASSETS_DIR}/${name}?v=${t.assets.get(name)?.version ?? ''}`;
  const crumbs = [
    { name: ctx.project, href: segments.length ? `${up}index.html` : undefined },
    ...segments.map((s, i) => ({
      name: s,
      href: i < segments.length - 1 ? `${'../'.repeat(segments.length - 1 - i)}index.html` : undefined,
    })),
  ];
  const visible = visibleEntries(listing);
  const dirs = listing.entries.filter((e) => e.type === 'dir').length;
  const files = listing.entries.length - dirs;
  const total = listing.entries.reduce((n, e) => n + e.size, 0);
  const summary = `${dirs} ${dirs === 1 ? 'folder' : 'folders'}, ${files} ${files === 1 ? 'file' : 'files'}, ${formatBytes(total)} in all`;
  const size = Math.max(1, ctx.pageSize ?? PAGE_SIZE);
  const pages = Math.max(1, Math.ceil(visible.length / size));
  const base = pageBase(listing);
  const names = pageNames(base, pages);
  const heading = folder === '' ? `${ctx.project} downloads` : `Index of /${folder}`;
  const shown = new Map<string, string>();
  const mark = t.row({ r: MARK_ROW });
  for (let p = 1; p <= pages; p++) {
    const entries = visible.slice((p - 1) * size, p * size);
    const data = {
      title: pages > 1 ? `${heading} (page ${p} of ${pages})` : heading,
      heading,
      isRoot: folder === '',
      crumbs,
      parentHref: segments.length ? '../index.html' : undefined,
      assets: { css: asset('style.css'), js: asset('listing.js') },
      jsonHref: LISTING_JSON,
      summary,
      rows: entries.length > 0 ? [MARK_ROW] : [],
      pages,
      pager: pagerOf(base, p, pages),
    };
    const frame = root && p === 1 ? t.root({ ...data, ...root }) : t.listing(data);
    const at = frame.indexOf(mark);
    if (entries.length > 0 && (at < 0 || frame.indexOf(mark, at + 1) >= 0))
      throw new Error(`listing template for /${folder} must render the row partial exactly once per row`);
    page(
      names[p - 1]!,
      (out) => {
        if (entries.length === 0) {
          out.write(frame);
          return;
        }
        out.write(frame.slice(0, at));
        for (const e of entries) out.write(t.row({ r: rowOf(e, shown) }));
        out.write(frame.slice(at + mark.length));
      },
      frame.length * 3 + entries.length * 512,
    );
  }
}
