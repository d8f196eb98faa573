import type { Reporter } from './reporter.js';
import type { ConfigFile } from '../config/schema.js';
import { parseS3Url } from '../storage/parse-s3-url.js';
import { cloudFrontInvalidator } from '../cdn/cloudfront.js';
import type { CdnInvalidator, CdnOutcome } from '../cdn/invalidator.js';

/**
 * The invalidator --cloudfront-distribution or pkgpub.yaml's `cdn.cloudfront` asks for, if any.
 * Paths default to '/' + the s3:// prefix of `target`: a distribution's origin normally points
 * at the bucket root, so the prefix is part of the URL. `paths_prefix` replaces that when the
 * origin has an origin path (or the folder target is served below some path).
 */
export function cdnFromSettings(
  flag: string | undefined,
  file: ConfigFile,
  target: string,
  env: Record<string, string | undefined> = process.env,
): CdnInvalidator | undefined {
  const cf = file.cdn?.cloudfront;
  const distributionId = flag ?? cf?.distribution_id;
  if (distributionId === undefined) return undefined;
  const pathsPrefix = cf?.paths_prefix ?? (target.startsWith('s3://') ? parseS3Url(target).prefix : '');
  const endpoint = env.PKGPUB_CLOUDFRONT_ENDPOINT || undefined;
  return cloudFrontInvalidator({ distributionId, pathsPrefix, ...(endpoint ? { endpoint } : {}) });
}

/**
 * Text output for an invalidation (JSON output carries the outcome in its document instead).
 * A failure is a warning only: the publish is committed, so the exit status stays 0.
 */
export function reportCdn(outcome: CdnOutcome | undefined, r: Reporter, json: boolean): void {
  if (!outcome) return;
  const n = `${outcome.paths.length} path${outcome.paths.length === 1 ? '' : 's'}`;
  switch (outcome.status) {
    case 'dry-run':
      if (json) return;
      r.out(`would invalidate ${n} on ${outcome.target}:`);
      for (const p of outcome.paths) r.out(`INVALIDATE ${p}`);
      return;
    case 'sent':
      if (!json) r.out(`invalidated ${n} on ${outcome.target} (invalidation ${outcome.id})`);
      return;
    case 'failed':
      r.warn(
        `could not invalidate ${n} on ${outcome.target}: ${outcome.reason}. The publish itself is complete; ` +
          'indexes and pointers are revalidated by the CDN on every request (no-cache); listings expire after 300 s, or invalidate them by hand.',
      );
      return;
  }
}
