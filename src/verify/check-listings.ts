import {
  ASSETS_DIR,
  isBookkeeping,
  isListingPageName,
  LISTING_JSON,
  parseListing,
} from '../site/listing-model.js';
import type { VerifyContext } from './context.js';

/**
 * Each folder's listing.json against the files really there (names and sizes). Only a folder or a
 * bucket can say what is really there; over HTTP the listings are what verify learns the tree
 * from, so they are not checked against themselves.
 */
export async function checkListings(ctx: VerifyContext, folders: string[]): Promise<void> {
  const f = ctx.findings;
  if (!ctx.files.exact) {
    f.covered(
      'listings',
      `${folders.length} listings read (compared with the files only on a folder or bucket)`,
    );
    return;
  }
  // folder -> name -> size of what is there, files and sub-folders.
  const there = new Map<string, Map<string, number>>();
  for (const [key, size] of ctx.files.sizes) {
    const cut = key.lastIndexOf('/');
    const folder = key.slice(0, cut + 1);
    const name = key.slice(cut + 1);
    if (!there.has(folder)) there.set(folder, new Map());
    there.get(folder)!.set(name, size);
    // Each folder above names the next one down.
    let inner = folder;
    while (inner !== '') {
      const up = inner.slice(0, inner.slice(0, -1).lastIndexOf('/') + 1);
      const sub = inner.slice(up.length, -1);
      if (!there.has(up)) there.set(up, new Map());
      const m = there.get(up)!;
      if (m.has(`${sub}/`)) break;
      m.set(`${sub}/`, -1);
      inner = up;
    }
  }
  let stale = 0;
  for (const folder of folders) {
    const key = `${folder}${LISTING_JSON}`;
    const listing = parseListing(folder, await ctx.source.get(key));
    if (!listing) {
      f.error('listings', key, 'listings.unreadable', 'not a listing this tool can read');
      continue;
    }
    const real = there.get(folder) ?? new Map<string, number>();
    const problems: string[] = [];
    const listed = new Set<string>();
    for (const e of listing.entries) {
      const name = e.type === 'dir' ? `${e.name}/` : e.name;
      listed.add(name);
      if (e.asc) listed.add(`${e.name}.asc`);
      const size = real.get(name);
      if (size === undefined) problems.push(`lists ${name}, which is not there`);
      else if (e.type === 'file' && size !== e.size)
        problems.push(`lists ${name} as ${e.size} bytes, it has ${size}`);
    }
    for (const name of real.keys()) {
      if (listed.has(name) || isListingPageName(name) || name === LISTING_JSON) continue;
      if (isBookkeeping(`${folder}${name}`) || name.startsWith('.')) continue;
      // The listings' own stylesheet and script: part of the site, never an entry.
      if (folder === '' && name === `${ASSETS_DIR}/`) continue;
      problems.push(`does not list ${name}`);
    }
    if (problems.length > 0) {
      stale++;
      const shown = problems.slice(0, 5).join('; ');
      f.error(
        'listings',
        key,
        'listings.stale',
        `out of date: ${shown}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''} (pkgpub site rebuild renders it again)`,
      );
    }
  }
  f.covered('listings', `${folders.length} listings compared with the files (${stale} out of date)`);
}
