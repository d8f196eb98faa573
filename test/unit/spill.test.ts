import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bytesFile } from '../../src/model/output-file.js';
import { SPILL_THRESHOLD, Spill } from '../../src/transaction/spill.js';
import { writeOutput } from '../../src/model/text-output.js';
import type { OutputFile } from '../../src/model/tiers.js';

/** Text in pieces of every UTF-8 length, so pieces straddle the encoding buffer's end. */
function pieces(bytes: number): string[] {
  const out: string[] = [];
  const kinds = ['a', 'é', '€', '😀', '{"name":"x"},\n'];
  for (let n = 0, i = 0; n < bytes; i++) {
    const s = kinds[i % kinds.length]!.repeat(1 + (i % 97));
    out.push(s);
    n += new TextEncoder().encode(s).length;
  }
  return out;
}

function bodyBytes(f: OutputFile): Uint8Array {
  if ('copyFrom' in f.body) throw new Error(`${f.key} is a copy`);
  return 'bytes' in f.body ? f.body.bytes : readFileSync(f.body.file);
}

describe('Spill.open', () => {
  it('keeps an output under the threshold in memory and streams a bigger one to a temp file, same bytes and digest', async () => {
    const spill = new Spill();
    try {
      for (const size of [0, 1000, SPILL_THRESHOLD - 10, SPILL_THRESHOLD + 10, 3 * SPILL_THRESHOLD + 5]) {
        const text = pieces(size);
        const whole = bytesFile('a/listing.json', 'listing', text.join(''));
        const got = writeOutput(spill.open, 'a/listing.json', 'listing', (out) => {
          for (const s of text) out.write(s);
        });
        const spilled = whole.size >= SPILL_THRESHOLD;
        expect('file' in got.body, `${whole.size} bytes`).toBe(spilled);
        if ('file' in got.body) expect(got.body.movable).toBe(true);
        expect(got.size).toBe(whole.size);
        expect(got.sha256).toBe(whole.sha256);
        expect(got.contentType).toBe(whole.contentType);
        expect(Buffer.from(bodyBytes(got)).equals(Buffer.from(bodyBytes(whole)))).toBe(true);
      }
    } finally {
      await spill.cleanup();
    }
  });

  it('spills at exactly the threshold, like Spill.file, and removes its files on cleanup', async () => {
    const spill = new Spill(100);
    const small = writeOutput(spill.open, 'k', 'index', (out) => out.write('x'.repeat(99)));
    const even = writeOutput(spill.open, 'k', 'index', (out) => out.write('x'.repeat(100)));
    expect('bytes' in small.body).toBe(true);
    expect('file' in even.body).toBe(true);
    const file = 'file' in even.body ? even.body.file : '';
    expect(readFileSync(file, 'utf8')).toBe('x'.repeat(100));
    await spill.cleanup();
    expect(existsSync(dirname(file))).toBe(false);
  });

  it('closes a half-written output when writing it fails', async () => {
    const spill = new Spill(10);
    try {
      expect(() =>
        writeOutput(spill.open, 'k', 'index', (out) => {
          out.write('y'.repeat(SPILL_THRESHOLD * 2));
          throw new Error('broken template');
        }),
      ).toThrow('broken template');
      // The encoding buffer came back: the next output works.
      const next = writeOutput(spill.open, 'k', 'index', (out) => out.write('z'.repeat(20)));
      expect(Buffer.from(bodyBytes(next)).toString()).toBe('z'.repeat(20));
    } finally {
      await spill.cleanup();
    }
  });
});
