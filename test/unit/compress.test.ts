import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzip, gzipAsync, xz, xzWithLibrary, xzWithTool } from '../../src/formats/compress.js';

/** A Packages-like text: stanzas of fields and hex digests, 1.2 MB. */
function packagesText(n: number): Uint8Array {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const h = createHash('sha256').update(String(i)).digest('hex');
    parts.push(
      `Package: p${i}\nVersion: 1.${i}-1\nArchitecture: amd64\nFilename: pool/main/p/p${i}/p${i}_1.${i}-1_amd64.deb\nSize: ${1000 + i}\nSHA256: ${h}\nDescription: package ${i}\n`,
    );
  }
  return new TextEncoder().encode(parts.join('\n'));
}

const unxz = (b: Uint8Array) => execFileSync('xz', ['-dc'], { input: b, maxBuffer: 1 << 28 });

describe('xz', () => {
  const data = packagesText(5000);

  it('xz(1) and lzma-native write the same bytes, which decompress to the input', async () => {
    const tool = await xzWithTool(data);
    const lib = await xzWithLibrary(data);
    expect(tool, 'xz(1) is installed on the test machines').toBeDefined();
    expect(Buffer.from(tool!).equals(Buffer.from(lib))).toBe(true);
    expect(unxz(lib).equals(Buffer.from(data))).toBe(true);
    // CRC32 check (flag byte 0x01 in the stream header), as every Packages.xz published before.
    expect(lib[7]).toBe(0x01);
    expect(Buffer.from(await xz(data)).equals(Buffer.from(lib))).toBe(true);
  });

  it('a missing xz(1) means "use the library", not an error; a failing one is an error', async () => {
    expect(await xzWithTool(data, 'pkgpub-no-such-xz')).toBeUndefined();
    await expect(xzWithTool(data, 'false')).rejects.toThrow(/exited with 1/);
  });
});

describe('gzip', () => {
  it('gzipAsync gives the same bytes as gzip', async () => {
    const data = packagesText(500);
    const a = await gzipAsync(data);
    expect(Buffer.from(a).equals(Buffer.from(gzip(data)))).toBe(true);
    expect(gunzipSync(a).equals(Buffer.from(data))).toBe(true);
  });
});
