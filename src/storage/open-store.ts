import { resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { FsStore } from './fs-store.js';
import type { ObjectStore } from './object-store.js';

export interface StoreFlags {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

/** `--to` names the target: a folder (the default, ./public) or s3://bucket/prefix. */
export async function openStore(target: string, _flags: StoreFlags = {}): Promise<ObjectStore> {
  if (target.startsWith('s3://')) {
    throw new UsageError('s3:// targets are not supported by this build yet');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) throw new UsageError(`--to ${target}: only folders and s3:// are supported`);
  return new FsStore(resolve(target));
}
