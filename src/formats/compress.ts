import { gzipSync } from 'node:zlib';
import lzma from 'lzma-native';

/** gzip with no name and mtime 0 (node's default), so the same input always gives the same bytes. */
export function gzip(data: Uint8Array): Uint8Array {
  return gzipSync(data, { level: 9 });
}

/** xz with CRC64 check, as xz(1) writes by default; deterministic for a given input. */
export function xz(data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    lzma.compress(
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      { preset: 6 },
      (out: Buffer, err?: Error) => {
        if (err) reject(err);
        else resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      },
    );
  });
}
