import { promisify } from 'node:util';
import { gzip as gzipCallback, gzipSync } from 'node:zlib';
import lzma from 'lzma-native';
import { pipeThrough } from './pipe-through.js';

/** gzip with no name and mtime 0 (node's default), so the same input always gives the same bytes. */
export function gzip(data: Uint8Array): Uint8Array {
  return gzipSync(data, { level: 9 });
}

const gzipInPool = promisify(gzipCallback);

/** gzip() on libuv's thread pool, so several indexes compress at once. Same bytes. */
export async function gzipAsync(data: Uint8Array): Promise<Uint8Array> {
  return gzipInPool(data, { level: 9 });
}

/**
 * The xz settings, as xz(1) arguments and as lzma-native options: preset 1, not xz(1)'s 6, because
 * index files are mostly hex digests, so 6 gains ~13% size for 3x the time (1.2 s vs 0.37 s on a
 * 5,000-package Packages file), and that time is most of what adding one package to a large
 * repository costs. CRC32 check: what every Packages.xz pkgpub published so far carries.
 */
const XZ_ARGS = ['-1', '-T1', '--check=crc32', '--stdout'];
const XZ_OPTIONS = { preset: 1, check: lzma.CHECK_CRC32 };

/** Set once xz(1) is found missing or failing, so later calls go straight to the library. */
let toolMissing = false;

/**
 * xz-compresses `data`. Through xz(1) where it is on PATH: Debian's xz 5.4 compressed a 2.4 MB
 * Packages in 0.23 s where lzma-native's bundled liblzma 5.2.3 took 0.40 s, with the same bytes
 * (the preset-1 encoder did not change between them). Otherwise through lzma-native.
 */
export async function xz(data: Uint8Array): Promise<Uint8Array> {
  if (!toolMissing) {
    // Whatever keeps xz(1) from doing it (absent, not executable, killed) is no reason to fail a
    // publish the library can finish.
    const out = await xzWithTool(data).catch(() => undefined);
    if (out) return out;
    toolMissing = true;
  }
  return xzWithLibrary(data);
}

/** xz(1) on `data`; undefined when `command` cannot be started (not installed). */
export async function xzWithTool(data: Uint8Array, command = 'xz'): Promise<Uint8Array | undefined> {
  try {
    return await pipeThrough(command, XZ_ARGS, data);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function xzWithLibrary(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    lzma.compress(Buffer.from(data.buffer, data.byteOffset, data.byteLength), XZ_OPTIONS, (out, err) => {
      if (err) reject(err);
      else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    });
  });
}
