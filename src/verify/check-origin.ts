import { sha256Hex } from '../artifacts/checksums.js';
import type { VerifyContext } from './context.js';
import type { SiteParts } from './discover.js';
import type { SiteSource } from './site-source.js';

/** Every file rewritten in place that clients read first: what a cache can hold back. */
export function pointerKeys(
  parts: SiteParts,
  files: Map<string, number>,
  driverVersions?: Map<string, Set<string>>,
): string[] {
  const keys: string[] = [];
  for (const { root, suite } of parts.aptSuites)
    for (const n of ['InRelease', 'Release', 'Release.gpg']) keys.push(`${root}dists/${suite}/${n}`);
  for (const r of parts.yumRepos) keys.push(`${r}repodata/repomd.xml`, `${r}repodata/repomd.xml.asc`);
  for (const f of parts.sumsFolders) keys.push(`${f}SHA256SUMS`, `${f}SHA256SUMS.asc`);
  for (const [root, versions] of driverVersions ?? [])
    for (const v of ['index', ...versions]) keys.push(`${root}site/${v}.json`);
  for (const root of parts.driverTrees)
    for (const k of files.keys()) if (k.startsWith(`${root}site/`) && /\.json(\.asc)?$/.test(k)) keys.push(k);
  return [...new Set(keys)];
}

/**
 * The site as served (a CDN) against its origin: each pointer must be the origin's very bytes. A
 * copy that differs is reported with how old the cache says it is; a pair whose two halves come
 * from different states also fails its signature check, which names the file.
 */
export async function checkOrigin(ctx: VerifyContext, origin: SiteSource, keys: string[]): Promise<void> {
  const f = ctx.findings;
  let stale = 0;
  for (const key of keys) {
    const [served, real] = await Promise.all([ctx.source.get(key), origin.get(key)]);
    if (!served && !real) continue;
    if (!real) {
      f.error('cdn', key, 'cdn.stale', `served, but the origin no longer has it`);
      stale++;
      continue;
    }
    if (!served) {
      f.error('cdn', key, 'cdn.missing', 'the origin has it, the site as served does not');
      continue;
    }
    if (sha256Hex(served) === sha256Hex(real)) continue;
    stale++;
    const fresh = await ctx.source.freshness?.(key);
    const how = [
      ...(fresh?.ageSeconds !== undefined ? [`cached ${fresh.ageSeconds} s ago (Age)`] : []),
      ...(fresh?.lastModified ? [`served copy last modified ${fresh.lastModified}`] : []),
    ];
    f.error(
      'cdn',
      key,
      'cdn.stale',
      `the copy served is not the origin's${how.length ? ` (${how.join(', ')})` : ''}: clients get an older state until the cache lets it go`,
    );
  }
  f.covered('cdn', `${keys.length} pointers compared with ${origin.description} (${stale} stale)`);
}
