import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Compression } from '../../src/artifacts/types.js';
import {
  compressionFromMemberName,
  createDecompressor,
  DecompressError,
} from '../../src/formats/decompress.js';
import { scratchRoot } from '../support/paths.js';
import { peakArrayBufferGrowth } from './memory-probe.js';

const MiB = 1024 * 1024;

/** Largest output the decompressor held unread during the last `run` with a slow reader. */
let heldPeak = 0;

/** Runs `input` through the decompressor in `chunk`-sized writes; returns the output. */
async function run(
  kind: Compression,
  input: Uint8Array,
  limit: number,
  chunk = 4096,
  reader: 'keep' | 'slow' = 'keep',
): Promise<Buffer> {
  const parts: Buffer[] = [];
  async function* source() {
    for (let i = 0; i < input.length; i += chunk) yield Buffer.from(input.subarray(i, i + chunk));
  }
  const decompressor = createDecompressor(kind, limit);
  heldPeak = 0;
  const probe = setInterval(() => {
    heldPeak = Math.max(heldPeak, decompressor.readableLength);
  }, 5);
  try {
    await pipeline(
      Readable.from(source()),
      decompressor,
      new Writable({
        write(c: Buffer, _e, cb) {
          if (reader === 'keep') {
            parts.push(c);
            cb();
          } else {
            // A reader slower than the decoder: only backpressure keeps the output from piling up.
            setTimeout(cb, 1);
          }
        },
      }),
    );
  } finally {
    clearInterval(probe);
  }
  return Buffer.concat(parts);
}

/** Compresses with the real command-line tool. */
function cli(kind: Exclude<Compression, 'none'>, data: Uint8Array, args: string[] = []): Buffer {
  const dir = mkdtempSync(join(scratchRoot, 'decompress-'));
  const file = join(dir, 'in');
  writeFileSync(file, data);
  const tool = { gzip: 'gzip', xz: 'xz', zstd: 'zstd' }[kind];
  return execFileSync(tool, ['-c', ...args, file], { maxBuffer: 512 * MiB });
}

describe('compressionFromMemberName', () => {
  it('maps the member names dpkg-deb writes', () => {
    expect(compressionFromMemberName('control.tar')).toBe('none');
    expect(compressionFromMemberName('control.tar.gz')).toBe('gzip');
    expect(compressionFromMemberName('control.tar.xz')).toBe('xz');
    expect(compressionFromMemberName('data.tar.zst')).toBe('zstd');
    expect(compressionFromMemberName('data.tar.bz2')).toBeUndefined();
    expect(compressionFromMemberName('data.tar.lzma')).toBeUndefined();
    expect(compressionFromMemberName('debian-binary')).toBeUndefined();
  });
});

describe('createDecompressor', () => {
  // Half random, half text: exercises both literal runs and matches.
  const sample = Buffer.concat([randomBytes(300_000), Buffer.from('pkgpub '.repeat(50_000))]);

  for (const kind of ['gzip', 'xz', 'zstd'] as const) {
    it(`${kind}: decodes what the ${kind} tool wrote, in any chunking`, async () => {
      const packed = cli(kind, sample);
      for (const chunk of kind === 'xz' ? [333, 65536, packed.length] : [7, 333, 65536, packed.length]) {
        expect((await run(kind, packed, 64 * MiB, chunk)).equals(sample), `chunk ${chunk}`).toBe(true);
      }
    });

    it(`${kind}: decodes concatenated streams`, async () => {
      const a = Buffer.from('first part\n');
      const b = Buffer.from('second part\n');
      const packed = Buffer.concat([cli(kind, a), cli(kind, b)]);
      expect((await run(kind, packed, MiB)).toString()).toBe('first part\nsecond part\n');
    });

    it(`${kind}: refuses output past the limit quickly ("too large")`, async () => {
      const packed = cli(kind, Buffer.alloc(16 * MiB));
      const t0 = Date.now();
      await expect(run(kind, packed, 4 * MiB)).rejects.toThrow(/too large/);
      expect(Date.now() - t0).toBeLessThan(5000);
      // Exactly at the limit is still fine.
      const exact = cli(kind, Buffer.alloc(MiB));
      expect((await run(kind, exact, MiB)).length).toBe(MiB);
      await expect(run(kind, exact, MiB - 1)).rejects.toThrow(DecompressError);
    });

    it(`${kind}: reports corrupt and truncated data`, async () => {
      const packed = cli(kind, sample);
      await expect(run(kind, packed.subarray(0, packed.length - 7), 64 * MiB)).rejects.toThrow(
        DecompressError,
      );
      const flipped = Buffer.from(packed);
      flipped[0] = flipped[0]! ^ 0xff;
      await expect(run(kind, flipped, 64 * MiB)).rejects.toThrow(/corrupt/);
    });
  }

  it('none: passes bytes through and still enforces the limit', async () => {
    expect((await run('none', sample, 64 * MiB)).equals(sample)).toBe(true);
    await expect(run('none', sample, sample.length - 1)).rejects.toThrow(/too large/);
  });

  it('zstd: skips skippable frames', async () => {
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
    const packed = Buffer.concat([skippable, cli('zstd', Buffer.from('payload'))]);
    expect((await run('zstd', packed, MiB, 5)).toString()).toBe('payload');
  });

  it('zstd: refuses a frame header that asks for a huge window before allocating it', async () => {
    // Frame header: no single-segment flag, window descriptor exponent 21 -> 2 GiB; one empty raw block.
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0x01, 0x00, 0x00]);
    await expect(run('zstd', frame, 64 * MiB)).rejects.toThrow(/window/);
    // The same frame with a 1 KiB window is fine (and empty).
    const small = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x01, 0x00, 0x00]);
    expect((await run('zstd', small, 64 * MiB)).length).toBe(0);
  });

  for (const kind of ['gzip', 'xz'] as const) {
    it(`${kind}: a 200 MiB bomb of zeros fails without holding the output`, async () => {
      const bomb = kind === 'gzip' ? gzipSync(Buffer.alloc(200 * MiB)) : cli(kind, Buffer.alloc(200 * MiB));
      const { result, peak, samples } = await peakArrayBufferGrowth(() =>
        run(kind, bomb, 16 * MiB, 65536, 'slow').then(
          () => undefined,
          (err: unknown) => err,
        ),
      );
      expect(String(result)).toMatch(/too large/);
      expect(samples).toBeGreaterThan(3);
      // 16 MiB come out; what is held at any time must be a few chunks, not a pile of them.
      // (lzma-native's buffers live outside V8's ArrayBuffer count, hence both measures.)
      expect(peak).toBeLessThan(4 * MiB);
      expect(heldPeak).toBeLessThan(2 * MiB);
    });
  }

  it('zstd: a 200 MiB bomb of zeros fails once past the limit', async () => {
    // fzstd decodes a whole input chunk synchronously, so here memory is bounded by the limit
    // itself rather than by backpressure; what matters is that it stops there.
    const bomb = cli('zstd', Buffer.alloc(200 * MiB));
    const t0 = Date.now();
    await expect(run('zstd', bomb, 64 * MiB, 65536, 'slow')).rejects.toThrow(/too large/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
