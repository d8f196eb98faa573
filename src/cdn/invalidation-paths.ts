import type { Plan } from '../model/plan.js';
import type { Tier } from '../model/tiers.js';

/**
 * Which cached paths a plan makes stale, as CloudFront wants them. Pure: no SDK, no I/O, so
 * --dry-run shows exactly what a real run sends.
 */

/** Tiers whose keys are rewritten in place (revalidated, or cached for 300 s: CACHE_CONTROL in apply.ts). */
const IN_PLACE: ReadonlySet<Tier> = new Set<Tier>(['index', 'pointer', 'listing']);

export interface PathLimits {
  /**
   * Most paths in one invalidation. CloudFront allows 3,000 individual files in progress per
   * distribution, shared by every invalidation in flight, and bills each path past the first
   * 1,000 a month; staying at 1,000 leaves room for a second publish while the first is running.
   */
  maxPaths: number;
  /**
   * Most wildcard paths in one invalidation. CloudFront allows only 15 wildcard paths in
   * progress per distribution, so one publish must not take them all.
   */
  maxWildcards: number;
}

export const DEFAULT_LIMITS: PathLimits = { maxPaths: 1000, maxWildcards: 10 };

/**
 * Keys whose cached copies no longer match the store after this plan: every write of an
 * in-place tier (new ones too: a CDN may hold a cached 404 for an index that did not exist
 * yet), blobs replaced under --force (they were served as immutable for a year), and deletes.
 * New blobs and content-addressed files have keys nobody can have cached, so they are left out.
 */
export function staleKeys(plan: Plan): string[] {
  const keys = new Set<string>();
  for (const { tier, steps } of plan.tiers)
    for (const s of steps) if (IN_PLACE.has(tier) || s.reason === 'forced') keys.add(s.file.key);
  for (const k of plan.deletes) keys.add(k);
  // pkgpub's own bookkeeping (.pkgpub-garbage.json, the lock) is read from the store, never through the CDN.
  return [...keys].filter((k) => !k.startsWith('.pkgpub-')).sort(cmp);
}

/**
 * The CloudFront paths for `keys`, each `pathsPrefix` + key, URL-encoded where CloudFront
 * requires it. Above `limits.maxPaths` the folders holding the most keys become `folder/*`
 * wildcards, as deep in the tree as the limits allow, down to `pathsPrefix*` at worst.
 * The tree's root `index.html` also invalidates the bare prefix: that is the URL people open.
 */
export function invalidationPaths(
  keys: readonly string[],
  pathsPrefix: string,
  limits: PathLimits = DEFAULT_LIMITS,
): string[] {
  const prefix = normalizePathsPrefix(pathsPrefix);
  // '' stands for the prefix itself (the folder URL of the root listing).
  const exact = [...new Set(keys.flatMap((k) => (k === 'index.html' ? [k, ''] : [k])))].sort(cmp);
  if (exact.length === 0) return [];
  if (exact.length <= limits.maxPaths) return exact.map((k) => exactPath(prefix, k));
  const deepest = Math.max(...exact.map((k) => k.split('/').length - 1));
  for (let depth = deepest; depth >= 1; depth--) {
    const perFolder = new Map<string, number>();
    for (const k of exact) {
      const parts = k.split('/');
      // Keys directly in a shallower folder have no folder at this depth and stay exact.
      if (parts.length - 1 < depth) continue;
      const folder = parts.slice(0, depth).join('/');
      perFolder.set(folder, (perFolder.get(folder) ?? 0) + 1);
    }
    const biggest = [...perFolder].sort((a, b) => b[1] - a[1] || cmp(a[0], b[0]));
    const wild: string[] = [];
    let left = exact.length;
    for (const [folder, n] of biggest) {
      if (left + wild.length <= limits.maxPaths || wild.length >= limits.maxWildcards || n < 2) break;
      wild.push(folder);
      left -= n;
    }
    if (left + wild.length > limits.maxPaths) continue;
    const covered = (k: string) => wild.some((f) => k.startsWith(`${f}/`));
    return [
      ...wild.sort(cmp).map((f) => `${encodePath(`${prefix}${f}/`)}*`),
      ...exact.filter((k) => !covered(k)).map((k) => exactPath(prefix, k)),
    ];
  }
  return [`${encodePath(prefix)}*`];
}

function exactPath(prefix: string, key: string): string {
  const path = prefix + key;
  // A literal '*' would read as a wildcard (and is only allowed last): cover the key with the
  // wildcard that starts where it does instead.
  const star = path.indexOf('*');
  return star < 0 ? encodePath(path) : `${encodePath(path.slice(0, star))}*`;
}

/** '/' + prefix + '/', or '/' alone; leading and trailing slashes are optional in the input. */
export function normalizePathsPrefix(p: string): string {
  const inner = p.replace(/^\/+|\/+$/g, '');
  return inner === '' ? '/' : `/${inner}/`;
}

/**
 * CloudFront's rule for invalidation paths: percent-encode non-ASCII characters and the
 * characters RFC 1738 calls unsafe, and nothing else, or the path does not match what viewers
 * requested. So '+' (in Debian kernel releases, hence driver file names) stays as it is.
 * '?' is encoded too: unencoded it would start a query string.
 */
export function encodePath(path: string): string {
  let out = '';
  for (const ch of path) {
    const c = ch.codePointAt(0)!;
    out += c <= 0x20 || c >= 0x7f || UNSAFE.has(ch) ? percentEncode(ch) : ch;
  }
  return out;
}

const UNSAFE = new Set([...'"#%<>[\\]^`{|}~?']);

function percentEncode(ch: string): string {
  let out = '';
  for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
