import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readArtifact } from '../../src/artifacts/scan.js';
import type { ArtifactKind } from '../../src/artifacts/types.js';
import { ArtifactError } from '../../src/errors.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

/**
 * Property: whatever bytes a real fixture is mutated into (flips, overwrites, truncation, inserted
 * garbage), a reader either returns an artifact or throws one ArtifactError naming the file. Never
 * another exception, never a hang.
 */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ op: fc.constant('bigint' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Buffer.from(src);
  for (const m of muts) {
    if (b.length === 0) break;
    // Bias positions towards the first KiB, where the headers live.
    const at = m.at % (m.at % 3 === 0 ? b.length : Math.min(b.length, 1024));
    if (m.op === 'flip') b[at] = b[at]! ^ (1 << m.bit);
    else if (m.op === 'set') b.set(m.bytes.subarray(0, b.length - at), at);
    else if (m.op === 'cut') b = b.subarray(0, at);
    else if (m.op === 'insert') b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    else if (at + 4 <= b.length) b.writeUInt32BE(0x7fffffff, at);
  }
  return b;
}

const inputs: { kind: ArtifactKind; path: string; bytes: Buffer; ext: string }[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(scratchRoot, 'fuzz-'));
  const pick = async (sub: string, kind: ArtifactKind, ext: string, n: number) => {
    const d = join(fixturesDir, sub);
    const names = (await readdir(d))
      .filter((f) => f.endsWith(ext))
      .sort()
      .slice(0, n);
    for (const f of names) inputs.push({ kind, path: join(d, f), bytes: await readFile(join(d, f)), ext });
  };
  await pick('deb', 'deb', '.deb', 4);
  await pick('rpm', 'rpm', '.rpm', 3);
  await pick('bin', 'tarball', '.tar.gz', 2);
  await pick(join('driver', '7.0.0+driver', 'x86_64'), 'driver', '.ko', 1);
});

describe('readers under mutation of real fixtures', () => {
  it('return an artifact or throw one ArtifactError naming the file, for thousands of mutants', async () => {
    expect(inputs.length).toBeGreaterThanOrEqual(8);
    let failures = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: inputs.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        async (i, muts) => {
          const input = inputs[i]!;
          const sub = join(dir, String(n++ % 4));
          const { mkdir } = await import('node:fs/promises');
          // Drivers need their <version>/<arch>/ folders.
          const folder = input.kind === 'driver' ? join(sub, '7.0.0+driver', 'x86_64') : sub;
          await mkdir(folder, { recursive: true });
          const path = join(folder, input.path.split('/').pop()!);
          await writeFile(path, mutate(input.bytes, muts));
          try {
            await readArtifact(path, input.kind);
          } catch (err) {
            failures++;
            expect(err).toBeInstanceOf(ArtifactError);
            expect((err as ArtifactError).message.startsWith(path)).toBe(true);
          }
        },
      ),
      { numRuns: 3000, seed: 20261124 },
    );
    // Most mutants must actually be rejected, or the property tests nothing.
    expect(failures).toBeGreaterThan(1000);
  });
});
