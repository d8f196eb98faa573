import { Utf8Sink } from './utf8-sink.js';
import { bytesFile } from './output-file.js';
import type { OutputFile, Tier } from './tiers.js';

/** Where a generated document's text goes, piece by piece. */
export interface TextSink {
  write(s: string): void;
}

/**
 * One generated output being written. A big one (a driver version json, a listing page) is
 * encoded as it is written, so it is never a string, and with a spill (publish/spill.ts) never
 * one buffer either.
 */
export interface TextOutput extends TextSink {
  /** The finished output; the writer is done with. */
  finish(): OutputFile;
  /** Gives up after a failure (a half-written temp file is closed; the spill removes it). */
  abort(): void;
}

/**
 * Opens a generated output; outputs are written one at a time. `expected`: a generous guess of
 * its size in bytes, so an output kept in memory is encoded into one buffer that never grows.
 */
export type OpenOutput = (key: string, tier: Tier, expected?: number) => TextOutput;

/** Held in memory, as bytes: the output of a run that spills nothing (tests, the library, site rebuild). */
export const memoryOutput: OpenOutput = (key, tier, expected = 64 * 1024) => {
  const sink = new Utf8Sink(expected);
  return {
    write: (s) => sink.write(s),
    finish: () => bytesFile(key, tier, sink.bytes()),
    abort: () => {},
  };
};

/** Writes one output with `fill`, closing it on failure so no temp file stays open. */
export function writeOutput(
  open: OpenOutput,
  key: string,
  tier: Tier,
  fill: (out: TextSink) => void,
  expected?: number,
): OutputFile {
  const out = open(key, tier, expected);
  try {
    fill(out);
  } catch (err) {
    out.abort();
    throw err;
  }
  return out.finish();
}

const CHUNK = 1 << 20;

/**
 * Bytes already in memory (a driver version json read back) as an output through `open`, so a
 * spilling one moves them to a temp file now instead of holding them until the transaction spills
 * its outputs: a prune of ten 50 MB versions would otherwise hold 500 MB at once. They pass as text
 * a megabyte at a time; bytes that are not UTF-8 would not come out the same, and stay as they are.
 */
export function bytesOutput(open: OpenOutput, key: string, tier: Tier, bytes: Uint8Array): OutputFile {
  if (open === memoryOutput) return bytesFile(key, tier, bytes);
  const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  try {
    return writeOutput(
      open,
      key,
      tier,
      (out) => {
        for (let at = 0; at < bytes.length; at += CHUNK)
          out.write(dec.decode(bytes.subarray(at, at + CHUNK), { stream: true }));
        out.write(dec.decode());
      },
      bytes.length,
    );
  } catch (err) {
    if (err instanceof TypeError) return bytesFile(key, tier, bytes);
    throw err;
  }
}
