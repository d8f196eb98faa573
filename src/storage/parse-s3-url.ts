import { UsageError } from '../errors.js';

export interface S3Location {
  bucket: string;
  /** '' for the bucket root, else '/'-separated with no leading or trailing slash. */
  prefix: string;
}

// Lenient on purpose: S3-compatible servers (Swift, MinIO, R2) accept names AWS would refuse, such
// as underscores; the server itself has the last word.
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/i;

/** `s3://BUCKET[/PREFIX][/]` → bucket and normalized prefix. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (!m) throw new UsageError(`${url}: not an s3:// URL (expected s3://BUCKET/PREFIX)`);
  const bucket = m[1] ?? '';
  if (!BUCKET.test(bucket)) throw new UsageError(`${url}: "${bucket}" is not a valid bucket name`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    const parts = prefix.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..') || /[\\\0?#]/.test(prefix)) {
      throw new UsageError(`${url}: the prefix must be plain path segments (no //, ., .., ?, #)`);
    }
  }
  return { bucket, prefix };
}
