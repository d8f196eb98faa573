/**
 * Streaming decompression with a hard ceiling on output: a hostile member (a few KB of gzip that
 * expands to gigabytes) fails fast with a "too large" error instead of filling memory or disk.
 * Output flows with backpressure, so what is held at once is a few chunks, never the whole stream.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import lzma from 'lzma-native';
import type { Compression } from '../artifacts/types.js';

export class DecompressError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecompressError';
  }
}

/** Ceiling for a control.tar: real ones are kilobytes; dpkg itself has no use for more. */
export const CONTROL_TAR_LIMIT = 64 * 1024 * 1024;

/**
 * xz decoders allocate the dictionary the stream header asks for; xz -9 needs 65 MiB, so this
 * admits every preset while refusing a header that asks for gigabytes.
 */
const XZ_MEMLIMIT = 128 * 1024 * 1024;
/**
 * lzma-native decodes a whole write before it looks at backpressure, and xz expands up to ~7000:1,
 * so input goes in small slices: at most a few MiB come out between two checks of the limit.
 */
const XZ_SLICE = 1024;
/** Largest zstd window accepted: fzstd allocates the whole window up front. */
const ZSTD_MAX_WINDOW = 128 * 1024 * 1024;

const SUFFIXES: Record<string, Compression> = { '': 'none', '.gz': 'gzip', '.xz': 'xz', '.zst': 'zstd' };

/** "control.tar.xz" -> "xz", "data.tar" -> "none"; undefined for anything pkgpub cannot read. */
export function compressionFromMemberName(name: string): Compression | undefined {
  const at = name.lastIndexOf('.tar');
  if (at < 0) return undefined;
  return Object.hasOwn(SUFFIXES, name.slice(at + 4)) ? SUFFIXES[name.slice(at + 4)] : undefined;
}

export function formatLimit(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

function tooLarge(kind: Compression, limit: number): DecompressError {
  return new DecompressError(
    `too large: ${kind === 'none' ? 'data' : `${kind} data`} expands past the ${formatLimit(limit)} limit (decompression bomb?)`,
  );
}

function corrupt(kind: Compression, err: unknown): DecompressError {
  const msg = err instanceof Error ? err.message : String(err);
  return new DecompressError(`corrupt ${kind} data: ${msg}`, { cause: err });
}

/**
 * A Transform from compressed bytes to plain bytes that errors (DecompressError) once more than
 * `limitBytes` come out, or when the compressed data is corrupt or cut short.
 */
export function createDecompressor(kind: Compression, limitBytes: number): Transform {
  switch (kind) {
    case 'none':
      return new LimitedPassThrough(limitBytes);
    case 'gzip':
      return new LimitedDecoder(kind, createGunzip(), limitBytes);
    case 'xz':
      return new LimitedDecoder(
        kind,
        lzma.createDecompressor({ memlimit: XZ_MEMLIMIT }),
        limitBytes,
        XZ_SLICE,
      );
    case 'zstd':
      return new LimitedDecoder(kind, new ZstdDecoder(limitBytes), limitBytes);
  }
}

class LimitedPassThrough extends Transform {
  private produced = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.produced += chunk.length;
    if (this.produced > this.limit) cb(tooLarge('none', this.limit));
    else cb(null, chunk);
  }
}

/**
 * Wraps a decoding engine so the caller sees one Transform: the engine's output is counted and
 * passed on, the engine pauses while our reader is full, and our input waits on the engine.
 */
class LimitedDecoder extends Transform {
  private produced = 0;
  private flushed: TransformCallback | undefined;
  private failed = false;

  constructor(
    kind: Compression,
    private readonly engine: Transform,
    limit: number,
    private readonly slice = Number.POSITIVE_INFINITY,
  ) {
    super();
    engine.on('data', (data: Buffer) => {
      if (this.failed) return;
      this.produced += data.length;
      if (this.produced > limit) {
        this.fail(tooLarge(kind, limit));
        return;
      }
      if (!this.push(data)) engine.pause();
    });
    engine.on('error', (err: unknown) => {
      this.fail(err instanceof DecompressError ? err : corrupt(kind, err));
    });
    engine.on('end', () => {
      const cb = this.flushed;
      this.flushed = undefined;
      cb?.();
    });
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.engine.destroy();
    this.destroy(err);
  }

  override _read(size: number): void {
    if (this.engine.isPaused()) this.engine.resume();
    super._read(size);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let at = 0;
    const writeNext = (): void => {
      if (this.failed) return;
      if (at >= chunk.length) {
        cb();
        return;
      }
      const slice = chunk.subarray(at, at + this.slice);
      at += slice.length;
      this.engine.write(slice, (err) => {
        if (!err) writeNext();
      });
    };
    writeNext();
  }

  override _flush(cb: TransformCallback): void {
    if (this.failed) return;
    if (this.engine.readableEnded) {
      cb();
      return;
    }
    this.flushed = cb;
    this.engine.end();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.failed = true;
    this.engine.destroy();
    cb(err);
  }
}

/**
 * zstd through fzstd's streaming decoder. fzstd allocates each frame's whole window up front and
 * can expand one input chunk into gigabytes synchronously, so frame headers are checked here
 * before fzstd sees them, and output past the limit aborts the push in progress.
 */
class ZstdDecoder extends Transform {
  private readonly frames = new ZstdFrameScanner(ZSTD_MAX_WINDOW);
  private readonly decoder: Decompress;
  private produced = 0;

  constructor(private readonly limit: number) {
    super();
    this.decoder = new Decompress((data) => {
      this.produced += data.length;
      if (this.produced > this.limit) throw tooLarge('zstd', this.limit);
      // fzstd may hand out views of buffers it reuses.
      if (data.length > 0) this.push(Buffer.from(data));
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.frames.push(chunk);
      this.decoder.push(chunk);
      cb();
    } catch (err) {
      cb(err instanceof DecompressError ? err : corrupt('zstd', err));
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.frames.end();
      this.decoder.push(new Uint8Array(0), true);
      cb();
    } catch (err) {
      cb(err instanceof DecompressError ? err : corrupt('zstd', err));
    }
  }
}

const ZSTD_MAGIC = 0xfd2fb528;

type ScanState = 'magic' | 'frameHeader' | 'skipSize' | 'skip' | 'blockHeader' | 'block' | 'checksum';

/**
 * Walks zstd frame structure (RFC 8878 section 3.1) without decoding: enough to read every
 * frame's window size and to know where the next frame starts.
 */
class ZstdFrameScanner {
  private state: ScanState = 'magic';
  private buf = new Uint8Array(18);
  private need = 4;
  private have = 0;
  private skip = 0;
  private checksum = false;
  private lastBlock = false;
  private frames = 0;

  constructor(private readonly maxWindow: number) {}

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'skip' || this.state === 'block') {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.afterSkip();
        continue;
      }
      const n = Math.min(this.need - this.have, chunk.length - i);
      this.buf.set(chunk.subarray(i, i + n), this.have);
      this.have += n;
      i += n;
      if (this.have === this.need) this.onField();
    }
  }

  end(): void {
    if (this.frames === 0 && this.state === 'magic' && this.have === 0) {
      throw new DecompressError('corrupt zstd data: no zstd frame');
    }
    if (this.state !== 'magic' || this.have !== 0) throw new DecompressError('corrupt zstd data: truncated');
  }

  private expect(state: ScanState, need: number): void {
    this.state = state;
    this.need = need;
    this.have = 0;
  }

  private afterSkip(): void {
    if (this.state === 'skip') this.expect('magic', 4);
    else if (this.lastBlock) {
      if (this.checksum) this.expect('checksum', 4);
      else this.expect('magic', 4);
    } else this.expect('blockHeader', 3);
  }

  private onField(): void {
    const b = this.buf;
    switch (this.state) {
      case 'magic': {
        const magic = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        if (magic === ZSTD_MAGIC) {
          this.expect('frameHeader', 1);
        } else if (magic >>> 4 === 0x184d2a5) {
          this.expect('skipSize', 4);
        } else {
          throw new DecompressError('corrupt zstd data: bad frame magic');
        }
        break;
      }
      case 'frameHeader': {
        const fhd = b[0]!;
        const single = (fhd >> 5) & 1;
        const fcsFlag = fhd >> 6;
        const dictBytes = [0, 1, 2, 4][fhd & 3]!;
        const fcsBytes = fcsFlag === 0 ? single : 1 << fcsFlag;
        const total = 1 + (single ? 0 : 1) + dictBytes + fcsBytes;
        if (this.need < total) {
          this.need = total;
          return;
        }
        if (fhd & 8) throw new DecompressError('corrupt zstd data: reserved frame header bit set');
        let window: number;
        if (single) {
          const at = total - fcsBytes;
          let fcs = 0;
          for (let k = fcsBytes - 1; k >= 0; k--) fcs = fcs * 256 + b[at + k]!;
          window = fcsBytes === 2 ? fcs + 256 : fcs;
        } else {
          const wd = b[1]!;
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        }
        if (window > this.maxWindow) {
          throw new DecompressError(
            `too large: zstd frame asks for a ${window}-byte window, over the ${formatLimit(this.maxWindow)} accepted`,
          );
        }
        this.checksum = ((fhd >> 2) & 1) === 1;
        this.lastBlock = false;
        this.frames++;
        this.expect('blockHeader', 3);
        break;
      }
      case 'skipSize':
        this.skip = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
        this.state = 'skip';
        if (this.skip === 0) this.afterSkip();
        break;
      case 'blockHeader': {
        const h = b[0]! | (b[1]! << 8) | (b[2]! << 16);
        this.lastBlock = (h & 1) === 1;
        const type = (h >> 1) & 3;
        if (type === 3) throw new DecompressError('corrupt zstd data: reserved block type');
        this.skip = type === 1 ? 1 : h >>> 3;
        this.state = 'block';
        if (this.skip === 0) this.afterSkip();
        break;
      }
      case 'checksum':
        this.expect('magic', 4);
        break;
      default:
        break;
    }
  }
}
