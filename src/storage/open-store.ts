import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { FsStore } from './fs-store.js';
import type { ObjectStore } from './object-store.js';
import { parseS3Url } from './parse-s3-url.js';

export interface StoreFlags {
  /** S3-compatible endpoint URL; PKGPUB_S3_ENDPOINT is the default. */
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Parallel parts of one multipart upload and parallel delete batches. */
  concurrency?: number;
  /** Folder targets: hard-link input files into the tree (see FsStoreOptions). */
  hardlink?: boolean;
}

/** `--to` names the target: a folder (the default, ./public) or s3://bucket/prefix. */
export async function openStore(
  target: string,
  flags: StoreFlags = {},
  env: Record<string, string | undefined> = process.env,
): Promise<ObjectStore> {
  if (target.startsWith('s3://')) {
    if (flags.hardlink) throw new UsageError(`--hardlink only applies to folder targets, not ${target}`);
    const { bucket, prefix } = parseS3Url(target);
    const endpoint = flags.endpoint ?? (env.PKGPUB_S3_ENDPOINT || undefined);
    if (endpoint !== undefined) checkEndpoint(endpoint);
    // Loaded only for S3 targets: the AWS SDK is a tenth of a second of start-up for folder publishes.
    const { S3Store } = await import('./s3-store.js');
    return new S3Store({
      bucket,
      prefix,
      ...(endpoint ? { endpoint } : {}),
      ...(flags.region ? { region: flags.region } : {}),
      ...(flags.forcePathStyle !== undefined ? { forcePathStyle: flags.forcePathStyle } : {}),
      ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
    });
  }
  if (flags.endpoint || flags.region || flags.forcePathStyle) {
    throw new UsageError(
      `--endpoint, --region and --force-path-style only apply to s3:// targets, not ${target}`,
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target))
    throw new UsageError(`--to ${target}: only folders and s3:// are supported`);
  return new FsStore(resolve(target), flags.hardlink ? { hardlink: true } : {});
}

function checkEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`--endpoint ${endpoint}: not a URL (expected http(s)://host[:port])`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--endpoint ${endpoint}: must be http:// or https://`);
  // Credentials come from the SDK's chain; a URL carrying them would end up in logs and messages.
  if (url.username || url.password)
    throw new UsageError('--endpoint must not contain credentials; use the AWS environment or profile');
}
