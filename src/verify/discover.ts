import { LISTING_JSON, parseListing } from '../site/listing-model.js';
import type { SiteSource } from './site-source.js';

/**
 * The files a site holds, as far as verify can learn them: the real list from a folder or a
 * bucket, or, over HTTP, what the site's own listings say (pkgpub's listing.json, else the links
 * of an HTML folder index such as nginx or Apache autoindex).
 */
export interface SiteFiles {
  sizes: Map<string, number>;
  /** True when `sizes` is the store's own list; false when it is what listings claim. */
  exact: boolean;
  /** Folders whose contents could not be learned over HTTP (no listing.json, no HTML index). */
  unlisted: string[];
}

export async function learnFiles(source: SiteSource, onProgress?: (n: number) => void): Promise<SiteFiles> {
  const sizes = new Map<string, number>();
  if (source.list) {
    for await (const e of source.list('')) {
      sizes.set(e.key, e.size);
      if (sizes.size % 10_000 === 0) onProgress?.(sizes.size);
    }
    return { sizes, exact: true, unlisted: [] };
  }
  const unlisted: string[] = [];
  const queue = [''];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const batch = queue.splice(0, 8);
    await Promise.all(
      batch.map(async (folder) => {
        if (seen.has(folder)) return;
        seen.add(folder);
        const listing = parseListing(folder, await source.get(`${folder}${LISTING_JSON}`));
        if (listing) {
          for (const e of listing.entries) {
            if (e.type === 'dir') queue.push(`${folder}${e.name}/`);
            else {
              sizes.set(`${folder}${e.name}`, e.size);
              if (e.asc && !sizes.has(`${folder}${e.name}.asc`)) sizes.set(`${folder}${e.name}.asc`, -1);
            }
          }
          sizes.set(`${folder}${LISTING_JSON}`, -1);
          onProgress?.(sizes.size);
          return;
        }
        const html = await source.get(folder === '' ? 'index.html' : `${folder}index.html`);
        const links = html ? folderLinks(new TextDecoder().decode(html)) : undefined;
        if (!links) {
          unlisted.push(folder);
          return;
        }
        for (const l of links) {
          if (l.endsWith('/')) queue.push(`${folder}${l}`);
          else sizes.set(`${folder}${l}`, -1);
        }
      }),
    );
  }
  return { sizes, exact: false, unlisted };
}

/**
 * The entries of an HTML folder index: relative links to names in this folder or one below it
 * (`name`, `name/`), nothing that leaves the folder, sorts the page or points elsewhere.
 */
export function folderLinks(html: string): string[] | undefined {
  const out = new Set<string>();
  for (const m of html.matchAll(/<a\s[^>]*href\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)) {
    const raw = (m[1] ?? m[2] ?? '').replace(/&amp;/g, '&');
    if (raw === '' || /^[a-z][a-z0-9+.-]*:/i.test(raw) || raw.startsWith('/') || raw.startsWith('?'))
      continue;
    if (raw.startsWith('#') || raw.startsWith('.')) continue;
    let name: string;
    try {
      name = decodeURIComponent(raw.split(/[?#]/)[0]!);
    } catch {
      continue;
    }
    const parts = name.split('/');
    if (parts.length > 2 || (parts.length === 2 && parts[1] !== '') || parts[0] === '') continue;
    out.add(name);
  }
  return out.size > 0 ? [...out] : undefined;
}

export interface SiteParts {
  /** `<root>dists/<suite>/` folders with an InRelease or Release. */
  aptSuites: { root: string; suite: string }[];
  /** Folders holding `repodata/repomd.xml`. */
  yumRepos: string[];
  /** Folders holding `SHA256SUMS`. */
  sumsFolders: string[];
  /** Tarballs in folders with no SHA256SUMS (another tool's release folders): checked by their .asc. */
  looseTarballs: string[];
  /** Driver trees: the folder holding `site/index.json`. */
  driverTrees: string[];
  /** Published key files. */
  keyFiles: string[];
  /** Folders with a listing.json. */
  listings: string[];
}

/** Finds each kind of repository by the files it is made of, whoever made it. */
export function findParts(files: Iterable<string>): SiteParts {
  const parts: SiteParts = {
    aptSuites: [],
    yumRepos: [],
    sumsFolders: [],
    looseTarballs: [],
    driverTrees: [],
    keyFiles: [],
    listings: [],
  };
  const suites = new Set<string>();
  const tarballs: string[] = [];
  for (const key of files) {
    if (/\.(tar\.gz|tgz|tar\.xz|tar\.zst)$/.test(key)) tarballs.push(key);
    let m = /^(.*?)dists\/([^/]+)\/(InRelease|Release)$/.exec(key);
    if (m && (m[1] === '' || m[1]!.endsWith('/'))) {
      const id = `${m[1]}\0${m[2]}`;
      if (!suites.has(id)) {
        suites.add(id);
        parts.aptSuites.push({ root: m[1]!, suite: m[2]! });
      }
      continue;
    }
    m = /^(.*?)repodata\/repomd\.xml$/.exec(key);
    if (m && (m[1] === '' || m[1]!.endsWith('/'))) {
      parts.yumRepos.push(m[1]!);
      continue;
    }
    m = /^(.*?)SHA256SUMS$/.exec(key);
    if (m && (m[1] === '' || m[1]!.endsWith('/'))) {
      parts.sumsFolders.push(m[1]!);
      continue;
    }
    m = /^(.*?)site\/index\.json$/.exec(key);
    if (m && (m[1] === '' || m[1]!.endsWith('/'))) {
      parts.driverTrees.push(m[1]!);
      continue;
    }
    if (/(^|\/)keys\/[^/]+\.(asc|gpg)$/.test(key) && !key.endsWith('.sig.asc')) {
      parts.keyFiles.push(key);
      continue;
    }
    m = /^(.*?)listing\.json$/.exec(key);
    if (m && (m[1] === '' || m[1]!.endsWith('/'))) parts.listings.push(m[1]!);
  }
  const sums = new Set(parts.sumsFolders);
  parts.looseTarballs = tarballs.filter((k) => !sums.has(k.slice(0, k.lastIndexOf('/') + 1)));
  for (const list of Object.values(parts) as unknown[][]) (list as string[]).sort();
  parts.aptSuites.sort((a, b) => (a.root + a.suite).localeCompare(b.root + b.suite));
  return parts;
}

/**
 * The parts a set of written keys belongs to (publish --verify checks what it wrote), and per
 * driver tree the versions whose index was written.
 */
export function partsOfWrites(keys: string[]): {
  parts: SiteParts;
  driverVersions: Map<string, Set<string>>;
} {
  const parts = findParts(keys);
  parts.listings = [];
  parts.keyFiles = [];
  parts.looseTarballs = [];
  const driverVersions = new Map<string, Set<string>>();
  for (const k of keys) {
    const m = /^(.*?)site\/([^/]+)\.json$/.exec(k);
    if (!m || m[2] === 'index' || (m[1] !== '' && !m[1]!.endsWith('/'))) continue;
    if (!driverVersions.has(m[1]!)) driverVersions.set(m[1]!, new Set());
    driverVersions.get(m[1]!)!.add(m[2]!);
  }
  for (const root of driverVersions.keys())
    if (!parts.driverTrees.includes(root)) parts.driverTrees.push(root);
  return { parts, driverVersions };
}
