import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { readRpm, readRpmHeaders } from '../../src/artifacts/read-rpm.js';
import { ArtifactError } from '../../src/errors.js';
import { LEAD_SIZE, parseHeader, signaturePadding } from '../../src/formats/rpm-header.js';
import { rpmFixtures, scratch } from './rpm-fixtures.js';

const dir = scratch('bad-rpm-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pick = (prefix: string) => rpmFixtures().find((f) => basename(f).startsWith(prefix))!;

function layout(bytes: Uint8Array) {
  const sig = parseHeader(bytes, LEAD_SIZE);
  const mainStart = LEAD_SIZE + sig.byteLength + signaturePadding(sig.byteLength);
  const main = parseHeader(bytes, mainStart);
  return { sigEnd: LEAD_SIZE + sig.byteLength, mainStart, mainEnd: mainStart + main.byteLength };
}

let n = 0;
function write(bytes: Uint8Array, name = `case-${n++}.rpm`): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Every failure must be an ArtifactError that names the file and says why, quickly. */
async function expectRejected(path: string, reason: RegExp): Promise<ArtifactError> {
  const started = Date.now();
  const err = await readRpm(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(Date.now() - started).toBeLessThan(5000);
  expect(err).toBeInstanceOf(ArtifactError);
  const a = err as ArtifactError;
  expect(a.code).toBe('artifact');
  expect(a.file).toBe(path);
  expect(a.message).toContain(path);
  expect(a.reason).toMatch(reason);
  // A publish that signs rpms reads their headers only: the same checks, the same words.
  const headersOnly = await readRpmHeaders(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(headersOnly).toBeInstanceOf(ArtifactError);
  expect((headersOnly as ArtifactError).reason).toBe(a.reason);
  return a;
}

describe.each(['falco-0.39.0-1.x86_64', 'signed-pkg-1.2.3-1.noarch'])('truncations of %s', (prefix) => {
  const bytes = new Uint8Array(readFileSync(pick(prefix)));
  const { sigEnd, mainStart, mainEnd } = layout(bytes);
  const cuts = [
    1,
    4,
    50,
    95,
    96,
    100,
    111,
    112,
    120,
    sigEnd - 1,
    sigEnd,
    mainStart,
    mainStart + 8,
    mainStart + 15,
    mainStart + 16,
    mainStart + 200,
    mainEnd - 1,
    mainEnd,
    mainEnd + 1,
    bytes.length - 100,
    bytes.length - 1,
  ];
  test.each(cuts)('cut at %i bytes', async (cut) => {
    await expectRejected(write(bytes.subarray(0, cut)), /truncated|needs/);
  });
});

describe('malformed files', () => {
  const bytes = new Uint8Array(readFileSync(pick('falco-0.39.0-1.x86_64')));
  const { mainStart } = layout(bytes);
  const patched = (f: (dv: DataView, b: Uint8Array) => void) => {
    const b = bytes.slice();
    f(new DataView(b.buffer), b);
    return write(b);
  };

  test('empty file', async () => {
    await expectRejected(write(new Uint8Array(0)), /empty/);
  });
  test('a directory', async () => {
    const d = join(dir, 'a-dir.rpm');
    mkdirSync(d, { recursive: true });
    await expectRejected(d, /directory/);
  });
  test('a missing file', async () => {
    await expectRejected(join(dir, 'nope.rpm'), /no such file/);
  });
  test('a text file', async () => {
    await expectRejected(write(new TextEncoder().encode('hello, not an rpm\n'.repeat(20))), /bad lead magic/);
  });
  test('wrong lead magic', async () => {
    await expectRejected(
      patched((_dv, b) => {
        b[0] = 0;
      }),
      /bad lead magic/,
    );
  });
  test('wrong signature header magic', async () => {
    await expectRejected(
      patched((_dv, b) => {
        b[LEAD_SIZE] = 0;
      }),
      /bad header magic/,
    );
  });
  test('wrong main header magic', async () => {
    await expectRejected(
      patched((_dv, b) => {
        b[mainStart + 1] = 0;
      }),
      /bad header magic/,
    );
  });
  test('signature index count 2^31', async () => {
    await expectRejected(
      patched((dv) => dv.setUint32(LEAD_SIZE + 8, 2 ** 31)),
      /index count 2147483648 exceeds/,
    );
  });
  test('main index count 2^31', async () => {
    await expectRejected(
      patched((dv) => dv.setUint32(mainStart + 8, 2 ** 31)),
      /index count 2147483648 exceeds/,
    );
  });
  test('data length 2^32-1', async () => {
    await expectRejected(
      patched((dv) => dv.setUint32(mainStart + 12, 0xffffffff)),
      /exceeds the limit/,
    );
  });
  test('data length beyond EOF (under the limit)', async () => {
    await expectRejected(
      patched((dv) => dv.setUint32(mainStart + 12, 10 * 1024 * 1024)),
      /truncated: the main header needs \d+ bytes but the file has \d+/,
    );
  });
  test('corrupt entry offset', async () => {
    await expectRejected(
      patched((dv) => dv.setInt32(mainStart + 16 + 16 * 3 + 8, 0x7ffffff0)),
      /offset \d+ outside/,
    );
  });
  test('corrupt entry type', async () => {
    await expectRejected(
      patched((dv) => dv.setUint32(mainStart + 16 + 16 * 3 + 4, 77)),
      /bad type 77/,
    );
  });
  test('corrupt entry count (BUILDTIME, an INT32)', async () => {
    const i = parseHeader(bytes, mainStart).entries.findIndex((e) => e.tag === 1006);
    expect(i).toBeGreaterThan(0);
    await expectRejected(
      patched((dv) => dv.setUint32(mainStart + 16 + 16 * i + 12, 0x7fffffff)),
      /values overrun/,
    );
  });
  test('trailing garbage after the payload', async () => {
    await expectRejected(write(Buffer.concat([bytes, Buffer.alloc(10)])), /trailing data/);
  });

  test('property: byte corruption anywhere in the headers never escapes as another error', async () => {
    const { mainEnd } = layout(bytes);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(mainEnd - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        async (edits) => {
          const b = bytes.slice();
          for (const [at, v] of edits) b[at] = v;
          const p = write(b, 'fuzz.rpm');
          const outcome = async (read: () => Promise<{ size: number; headerSha256: string }>) => {
            try {
              const a = await read();
              expect(a.size).toBe(b.length);
              return `read ${a.headerSha256}`;
            } catch (err) {
              expect(err).toBeInstanceOf(ArtifactError);
              expect((err as ArtifactError).file).toBe(p);
              return `refused: ${(err as ArtifactError).reason}`;
            }
          };
          // Reading the headers only decides exactly as a full read does.
          expect(await outcome(() => readRpmHeaders(p))).toBe(await outcome(() => readRpm(p)));
        },
      ),
      { numRuns: 150 },
    );
  });
});
