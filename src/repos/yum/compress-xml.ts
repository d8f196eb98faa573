import { promisify } from 'node:util';
import { gunzip as gunzipCallback } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { ConfigError } from '../../errors.js';
import { gzipAsync } from '../../formats/compress.js';
import { pipeThrough } from '../../formats/pipe-through.js';

const gunzip = promisify(gunzipCallback);

export type YumCompression = 'gz' | 'zstd';

export function compressedSuffix(c: YumCompression): string {
  return c === 'gz' ? '.gz' : '.zst';
}

/**
 * gzip on libuv's thread pool (so primary, filelists and other compress at once); zstd through the
 * zstd(1) tool, because Node 20 has no zstd encoder and no encoder ships with pkgpub (fzstd only
 * decodes). Output is deterministic either way.
 */
export async function compressXml(data: Uint8Array, c: YumCompression): Promise<Uint8Array> {
  if (c === 'gz') return gzipAsync(data);
  return runZstd(data);
}

/** By file name, for reading back what a previous publish wrote. */
export async function decompressXml(name: string, data: Uint8Array): Promise<Uint8Array> {
  if (name.endsWith('.gz')) return gunzip(data);
  if (name.endsWith('.zst')) return zstdDecompress(data);
  if (name.endsWith('.xml')) return data;
  throw new Error(`${name}: unknown compression`);
}

async function runZstd(data: Uint8Array): Promise<Uint8Array> {
  try {
    return await pipeThrough('zstd', ['-q', '-c', '-10', '--no-progress', '-'], data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ConfigError(['yum.compression: zstd needs the zstd tool on PATH (or use gz)']);
    throw e;
  }
}
