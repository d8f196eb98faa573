import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { bytesFile, contentTypeFor } from '../model/output-file.js';
import type { TextOutput } from '../model/text-output.js';
import type { OutputFile, Tier } from '../model/tiers.js';

export interface SpillingOptions {
  /** Encoding buffer, at least `threshold` bytes; handed back through `done`. */
  buffer: Uint8Array;
  /** Outputs of at least this many bytes end up in a file, smaller ones as bytes. */
  threshold: number;
  /** A new temp file path, asked for only when the output turns out big. */
  path(): string;
  done(buffer: Uint8Array): void;
}

/**
 * Text encoded into one buffer; once the buffer is full the output is known to be big, goes to a
 * temp file, and the buffer is flushed to it each time it fills. Writes are synchronous: the
 * encoders calling this are synchronous loops, and nothing else runs while they do.
 */
export class SpillingOutput implements TextOutput {
  private readonly enc = new TextEncoder();
  private buf: Uint8Array;
  private at = 0;
  private fd: number | undefined;
  private file = '';
  private hash: Hash | undefined;
  private flushed = 0;

  constructor(
    private readonly key: string,
    private readonly tier: Tier,
    private readonly opts: SpillingOptions,
  ) {
    this.buf = opts.buffer;
  }

  write(s: string): void {
    let rest = s;
    for (;;) {
      const r = this.enc.encodeInto(rest, this.buf.subarray(this.at));
      this.at += r.written;
      if (r.read === rest.length) return;
      // encodeInto never splits a character, so the rest starts on a whole one.
      rest = rest.slice(r.read);
      this.flush();
    }
  }

  private flush(): void {
    if (this.fd === undefined) {
      this.file = this.opts.path();
      this.fd = openSync(this.file, 'wx');
      this.hash = createHash('sha256');
    }
    const chunk = this.buf.subarray(0, this.at);
    for (let off = 0; off < chunk.length; ) off += writeSync(this.fd, chunk, off);
    this.hash!.update(chunk);
    this.flushed += chunk.length;
    this.at = 0;
  }

  finish(): OutputFile {
    try {
      if (this.fd === undefined && this.at < this.opts.threshold)
        return bytesFile(this.key, this.tier, this.buf.slice(0, this.at));
      this.flush();
      // A folder target renames this file into place without copying, so it must be as durable
      // as the bytes FsStore would have written and synced itself.
      fsyncSync(this.fd!);
      const size = this.flushed;
      return {
        key: this.key,
        tier: this.tier,
        body: { file: this.file, size, movable: true },
        sha256: this.hash!.digest('hex'),
        size,
        contentType: contentTypeFor(this.key),
      };
    } finally {
      this.release();
    }
  }

  abort(): void {
    this.release();
  }

  private release(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.opts.done(this.buf);
  }
}
