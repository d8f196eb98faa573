import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parsePgpSignature } from '../../src/formats/pgp-signature-packet.js';
import {
  encodeHeader,
  HEADER_MAGIC,
  LEAD_SIZE,
  MAX_HEADER_BYTES,
  parseHeader,
  parseLead,
  RPM_TYPE,
  RPMSIGTAG,
  RPMTAG,
  type RpmEntryInput,
  RpmFormatError,
  readHeaderPreamble,
  signaturePadding,
} from '../../src/formats/rpm-header.js';
import { rpmFiles, splitEvr } from '../../src/formats/rpm-package.js';
import { rpmvercmp } from '../../src/formats/rpm-vercmp.js';
import { rpm, rpmFixtures, rpmQuery } from './rpm-fixtures.js';

const files = rpmFixtures();

function headersOf(bytes: Uint8Array) {
  const sig = parseHeader(bytes, LEAD_SIZE);
  const mainStart = LEAD_SIZE + sig.byteLength + signaturePadding(sig.byteLength);
  return { sig, main: parseHeader(bytes, mainStart), mainStart };
}

describe.each(files.map((f) => [basename(f), f]))('%s', (_n, file) => {
  const bytes = new Uint8Array(readFileSync(file));

  test('lead: magic, type and name agree with rpm', () => {
    const lead = parseLead(bytes);
    const source = rpmQuery(file, '%{SOURCEPACKAGE}') !== '(none)';
    expect(lead.type).toBe(source ? 1 : 0);
    expect(lead.signatureType).toBe(5);
    expect(lead.name).toBe(rpmQuery(file, '%{NEVR}'));
  });

  test('signature padding puts the main header on an 8-byte boundary where its magic is', () => {
    const { sig, mainStart } = headersOf(bytes);
    expect(mainStart % 8).toBe(0);
    expect([...bytes.subarray(mainStart, mainStart + 4)]).toEqual([...HEADER_MAGIC]);
    expect([...bytes.subarray(LEAD_SIZE + sig.byteLength, mainStart)].every((b) => b === 0)).toBe(true);
  });

  test('typed access agrees with rpm -qp', () => {
    const { sig, main } = headersOf(bytes);
    expect(main.getString(RPMTAG.NAME)).toBe(rpmQuery(file, '%{NAME}'));
    expect(main.getNumber(RPMTAG.BUILDTIME)).toBe(Number(rpmQuery(file, '%{BUILDTIME}')));
    expect(main.getStrings(RPMTAG.DIRNAMES) ?? []).toEqual(
      rpmQuery(file, '[%{DIRNAMES}\n]').split('\n').slice(0, -1),
    );
    expect(main.getNumbers(RPMTAG.FILEMODES) ?? []).toEqual(
      rpmQuery(file, '[%{FILEMODES}\n]').split('\n').filter(Boolean).map(Number),
    );
    // I18NSTRING: the first (C locale) value.
    expect(main.entry(RPMTAG.SUMMARY)?.type).toBe(RPM_TYPE.I18NSTRING);
    expect(main.getString(RPMTAG.SUMMARY)).toBe(rpmQuery(file, '%{SUMMARY}'));
    expect(Buffer.from(sig.getBinary(RPMSIGTAG.MD5)!).toString('hex')).toBe(rpmQuery(file, '%{SIGMD5}'));
    expect(sig.getString(RPMSIGTAG.SHA256)).toBe(rpmQuery(file, '%{SHA256HEADER}'));
    expect(sig.getNumber(RPMSIGTAG.SIZE)).toBe(Number(rpmQuery(file, '%{SIGSIZE}')));
  });

  test('both headers re-encode byte for byte', () => {
    const { sig, main, mainStart } = headersOf(bytes);
    expect(sig.regionTag()).toBe(RPMTAG.HEADERSIGNATURES);
    expect(main.regionTag()).toBe(RPMTAG.HEADERIMMUTABLE);
    expect(Buffer.from(encodeHeader(sig.toInputs(), { region: sig.regionTag() }))).toEqual(
      Buffer.from(bytes.subarray(LEAD_SIZE, LEAD_SIZE + sig.byteLength)),
    );
    expect(Buffer.from(encodeHeader(main.toInputs(), { region: main.regionTag() }))).toEqual(
      Buffer.from(bytes.subarray(mainStart, mainStart + main.byteLength)),
    );
  });
});

test('a re-encoded signature header with a new tag still reads with rpm', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { scratchRoot } = await import('../support/paths.js');
  const file = files.find((f) => basename(f).startsWith('falco-0.39.0-1.x86_64'))!;
  const bytes = new Uint8Array(readFileSync(file));
  const { sig, mainStart } = headersOf(bytes);
  // Swap the reserved space for a smaller one plus an extra tag, as a signer would.
  const inputs = sig.toInputs().filter((e) => e.tag !== RPMSIGTAG.RESERVEDSPACE);
  inputs.push({ tag: RPMSIGTAG.RESERVEDSPACE, type: RPM_TYPE.BIN, value: new Uint8Array(100) });
  const newSig = encodeHeader(inputs, { region: RPMTAG.HEADERSIGNATURES });
  const pad = new Uint8Array(signaturePadding(newSig.length));
  const out = Buffer.concat([bytes.subarray(0, LEAD_SIZE), newSig, pad, bytes.subarray(mainStart)]);
  const dir = mkdtempSync(join(scratchRoot, 'resig-'));
  const path = join(dir, 'x.rpm');
  writeFileSync(path, out);
  // rpm checks the signature header's own digests over the main header + payload.
  const check = rpm(['-Kv', path]);
  expect(check).toMatch(/Header SHA256 digest: OK/);
  expect(check).not.toMatch(/BAD/);
  expect(rpmQuery(path, '%{NAME}')).toBe('falco');
});

describe('encode/parse', () => {
  test('every type round-trips', () => {
    const inputs: RpmEntryInput[] = [
      { tag: 1000, type: RPM_TYPE.STRING, value: 'héllo' },
      { tag: 1001, type: RPM_TYPE.CHAR, value: [65, 66] },
      { tag: 1002, type: RPM_TYPE.INT8, value: [1, 255] },
      { tag: 1003, type: RPM_TYPE.INT16, value: [0o40755, 65535] },
      { tag: 1004, type: RPM_TYPE.INT32, value: [1, 0xffffffff] },
      { tag: 1005, type: RPM_TYPE.INT64, value: [5n, 2n ** 40n] },
      { tag: 1006, type: RPM_TYPE.BIN, value: Uint8Array.of(0, 1, 2) },
      { tag: 1007, type: RPM_TYPE.STRING_ARRAY, value: ['a', '', 'ccc'] },
      { tag: 1008, type: RPM_TYPE.I18NSTRING, value: ['C text'] },
    ];
    const h = parseHeader(encodeHeader(inputs));
    expect(h.getString(1000)).toBe('héllo');
    expect(h.getNumbers(1001)).toEqual([65, 66]);
    expect(h.getNumbers(1002)).toEqual([1, 255]);
    expect(h.getNumbers(1003)).toEqual([0o40755, 65535]);
    expect(h.getNumbers(1004)).toEqual([1, 0xffffffff]);
    expect(h.getNumbers(1005)).toEqual([5, 2 ** 40]);
    expect([...h.getBinary(1006)!]).toEqual([0, 1, 2]);
    expect(h.getStrings(1007)).toEqual(['a', '', 'ccc']);
    expect(h.getString(1008)).toBe('C text');
    expect(h.toInputs()).toEqual(inputs);
    // Alignment: every integer entry starts on its natural boundary.
    for (const e of h.entries) if (e.type === RPM_TYPE.INT64) expect(e.offset % 8).toBe(0);
    for (const e of h.entries) if (e.type === RPM_TYPE.INT32) expect(e.offset % 4).toBe(0);
  });

  test('property: arbitrary entries survive encode → parse → encode', () => {
    const entry = fc.oneof(
      fc.record({ type: fc.constant(RPM_TYPE.STRING), value: fc.string({ unit: 'grapheme' }) }),
      fc.record({
        type: fc.constant(RPM_TYPE.STRING_ARRAY),
        value: fc.array(fc.string({ unit: 'grapheme' }), { minLength: 1, maxLength: 5 }),
      }),
      fc.record({
        type: fc.constant(RPM_TYPE.INT16),
        value: fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1 }),
      }),
      fc.record({
        type: fc.constant(RPM_TYPE.INT32),
        value: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1 }),
      }),
      fc.record({
        type: fc.constant(RPM_TYPE.INT64),
        value: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1 }),
      }),
      fc.record({ type: fc.constant(RPM_TYPE.BIN), value: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.integer({ min: 100, max: 100000 }), entry), {
          minLength: 1,
          selector: (t) => t[0],
        }),
        (list) => {
          const inputs = list.map(([tag, e]) => ({ tag, ...e }) as RpmEntryInput);
          for (const region of [undefined, RPMTAG.HEADERIMMUTABLE]) {
            const bytes = encodeHeader(inputs, { region });
            const h = parseHeader(bytes);
            expect(h.byteLength).toBe(bytes.length);
            expect(h.toInputs()).toEqual([...inputs].sort((a, b) => a.tag - b.tag));
            expect(encodeHeader(h.toInputs(), { region: h.regionTag() })).toEqual(bytes);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('strings with a NUL and duplicate tags are refused', () => {
    expect(() => encodeHeader([{ tag: 1, type: RPM_TYPE.STRING, value: 'a\0b' }])).toThrow(RpmFormatError);
    expect(() =>
      encodeHeader([
        { tag: 1, type: RPM_TYPE.STRING, value: 'a' },
        { tag: 1, type: RPM_TYPE.STRING, value: 'b' },
      ]),
    ).toThrow(/duplicate tag 1/);
  });

  test('OLDFILENAMES is the file list when BASENAMES is absent', () => {
    const h = parseHeader(
      encodeHeader([
        { tag: RPMTAG.FILEMODES, type: RPM_TYPE.INT16, value: [0o100644, 0o40755] },
        { tag: RPMTAG.OLDFILENAMES, type: RPM_TYPE.STRING_ARRAY, value: ['/etc/a.conf', '/var/lib/x'] },
        { tag: RPMTAG.FILEFLAGS, type: RPM_TYPE.INT32, value: [1, 0] },
      ]),
    );
    expect(rpmFiles(h)).toEqual([
      { path: '/etc/a.conf', type: 'file', config: true },
      { path: '/var/lib/x', type: 'dir' },
    ]);
  });

  test('a directory index out of range is an error, not undefined paths', () => {
    const h = parseHeader(
      encodeHeader([
        { tag: RPMTAG.DIRINDEXES, type: RPM_TYPE.INT32, value: [3] },
        { tag: RPMTAG.BASENAMES, type: RPM_TYPE.STRING_ARRAY, value: ['f'] },
        { tag: RPMTAG.DIRNAMES, type: RPM_TYPE.STRING_ARRAY, value: ['/usr/'] },
      ]),
    );
    expect(() => rpmFiles(h)).toThrow(/directory index 3 out of range/);
  });
});

describe('strict parsing', () => {
  const good = encodeHeader([
    { tag: 1000, type: RPM_TYPE.STRING, value: 'name' },
    { tag: 1004, type: RPM_TYPE.INT32, value: [7] },
    { tag: 1005, type: RPM_TYPE.STRING_ARRAY, value: ['x', 'y'] },
  ]);
  const mutate = (f: (dv: DataView, b: Uint8Array) => void) => {
    const b = good.slice();
    f(new DataView(b.buffer), b);
    return b;
  };
  const entry = (i: number) => 16 + i * 16;

  test.each([
    [
      'bad magic',
      (_dv: DataView, b: Uint8Array) => {
        b[0] = 0;
      },
      /bad header magic/,
    ],
    ['index count 2^31', (dv: DataView) => dv.setUint32(8, 2 ** 31), /index count 2147483648 exceeds/],
    ['index count 0', (dv: DataView) => dv.setUint32(8, 0), /no index entries/],
    ['data length 2^32-1', (dv: DataView) => dv.setUint32(12, 0xffffffff), /exceeds the limit/],
    ['data length beyond the buffer', (dv: DataView) => dv.setUint32(12, 1000), /truncated header/],
    ['type 0', (dv: DataView) => dv.setUint32(entry(0) + 4, 0), /bad type 0/],
    ['type 99', (dv: DataView) => dv.setUint32(entry(0) + 4, 99), /bad type 99/],
    ['negative offset', (dv: DataView) => dv.setInt32(entry(0) + 8, -4), /offset -4 outside/],
    ['offset past the data', (dv: DataView) => dv.setInt32(entry(0) + 8, 0x7fffffff), /outside/],
    ['zero count', (dv: DataView) => dv.setUint32(entry(1) + 12, 0), /zero count/],
    ['int32 count overrun', (dv: DataView) => dv.setUint32(entry(1) + 12, 2 ** 30), /overrun/],
    [
      'misaligned int32',
      (dv: DataView) => dv.setInt32(entry(1) + 8, dv.getInt32(entry(1) + 8) + 1),
      /not aligned/,
    ],
    ['string array count overrun', (dv: DataView) => dv.setUint32(entry(2) + 12, 2 ** 31), /overrun/],
    [
      'string array one past the last NUL',
      (dv: DataView) => dv.setUint32(entry(2) + 12, 3),
      /unterminated|overrun/,
    ],
    ['STRING with count 2', (dv: DataView) => dv.setUint32(entry(0) + 12, 2), /STRING with count 2/],
  ] as const)('%s', (_name, f, reason) => {
    expect(() => parseHeader(mutate(f))).toThrow(reason);
  });

  test('a type mismatch on access is an error', () => {
    const h = parseHeader(good);
    expect(() => h.getNumbers(1000)).toThrow(RpmFormatError);
    expect(() => h.getString(1004)).toThrow(RpmFormatError);
    expect(() => h.getBinary(1005)).toThrow(RpmFormatError);
    expect(h.getString(4242)).toBeUndefined();
  });

  test('limits are checked before any allocation', () => {
    const pre = new Uint8Array(16);
    pre.set(HEADER_MAGIC);
    new DataView(pre.buffer).setUint32(8, 1);
    new DataView(pre.buffer).setUint32(12, MAX_HEADER_BYTES);
    expect(() => readHeaderPreamble(pre)).toThrow(/exceeds the limit/);
    new DataView(pre.buffer).setUint32(12, 100);
    expect(readHeaderPreamble(pre)).toEqual({ indexCount: 1, dataLength: 100, byteLength: 132 });
  });

  test('property: random corruption of a real header throws RpmFormatError or parses in bounds', () => {
    const file = files.find((f) => basename(f).startsWith('falco-0.39.0-1.x86_64'))!;
    const bytes = new Uint8Array(readFileSync(file));
    const { main, mainStart } = headersOf(bytes);
    const original = bytes.slice(mainStart, mainStart + main.byteLength);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (edits) => {
          const b = original.slice();
          for (const [at, v] of edits) b[at] = v;
          try {
            const h = parseHeader(b);
            // Whatever parsed must be readable without escaping the data store.
            for (const e of h.entries)
              expect(h.raw(e.tag)!.byteOffset + h.raw(e.tag)!.length).toBeLessThanOrEqual(
                b.byteOffset + b.length,
              );
            rpmFiles(h);
          } catch (err) {
            expect(err).toBeInstanceOf(RpmFormatError);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('lead', () => {
  test('rejects short input, wrong magic and foreign signature types', () => {
    const lead = new Uint8Array(readFileSync(files[0]!)).slice(0, LEAD_SIZE);
    expect(() => parseLead(lead.subarray(0, 95))).toThrow(/truncated lead/);
    const bad = lead.slice();
    bad[0] = 0x7f;
    expect(() => parseLead(bad)).toThrow(/bad lead magic/);
    const sigType = lead.slice();
    sigType[79] = 1;
    expect(() => parseLead(sigType)).toThrow(/signature type 1/);
  });
});

test('splitEvr follows createrepo_c', () => {
  expect(splitEvr('')).toEqual({});
  expect(splitEvr('1.2')).toEqual({ epoch: '0', version: '1.2' });
  expect(splitEvr('1:2.0-1')).toEqual({ epoch: '1', version: '2.0', release: '1' });
  expect(splitEvr('2.0-1-2')).toEqual({ epoch: '0', version: '2.0', release: '1-2' });
  expect(splitEvr('x:1')).toEqual({ badEpoch: true });
});

test('rpmvercmp agrees with rpm.vercmp', () => {
  const pairs: [string, string][] = [
    ['1.0', '1.0'],
    ['1.0', '2.0'],
    ['2.0.1', '2.0'],
    ['1.0~rc1', '1.0'],
    ['1.0~rc1', '1.0~rc2'],
    ['1.0^git1', '1.0'],
    ['1.0^git1', '1.0.1'],
    ['1.0~rc1', '1.0^'],
    ['1.010', '1.9'],
    ['001', '1'],
    ['a', '1'],
    ['1a', '1.a'],
    ['2.4', '2.17'],
    ['fc4', 'fc.4'],
    ['1.0a', '1.0b'],
    ['1_0', '1.0'],
    ['~~', '~'],
    ['^^', '^'],
    ['1.0', '1.0.'],
  ];
  // rpm's lua print() appends no newline: separate the results explicitly.
  const lua = pairs
    .map(([a, b]) => `print(rpm.vercmp(${JSON.stringify(a)}, ${JSON.stringify(b)}) .. ",")`)
    .join(' ');
  const expected = rpm(['--eval', `%{lua: ${lua}}`])
    .trim()
    .split(',')
    .slice(0, -1)
    .map(Number);
  expect(expected).toHaveLength(pairs.length);
  expect(pairs.map(([a, b]) => rpmvercmp(a, b))).toEqual(expected);
});

test('pgp signature packet: v4 issuer subpacket, fingerprint fallback, garbage', () => {
  // v4, pubkey RSA (1), SHA256 (8): hashed area holds an issuer fingerprint only.
  const fpr = Buffer.from('203206b6b15256cfdec0957f41232593f2f20a15', 'hex');
  const hashed = Buffer.concat([Buffer.from([22, 33, 4]), fpr]);
  const body = Buffer.concat([
    Buffer.from([4, 0, 1, 8, 0, hashed.length]),
    hashed,
    Buffer.from([0, 0, 0xab, 0xcd]),
  ]);
  const packet = Buffer.concat([Buffer.from([0xc2, body.length]), body]);
  expect(parsePgpSignature(packet)).toMatchObject({
    version: 4,
    keyId: '41232593f2f20a15',
    algorithm: 'RSA/SHA256',
  });
  // Old-format header (tag 2, one length byte), issuer key id in the unhashed area.
  const unhashed = Buffer.from([9, 16, 1, 2, 3, 4, 5, 6, 7, 8]);
  const body2 = Buffer.concat([
    Buffer.from([4, 0, 22, 10, 0, 0, 0, unhashed.length]),
    unhashed,
    Buffer.from([1, 2]),
  ]);
  expect(parsePgpSignature(Buffer.concat([Buffer.from([0x88, body2.length]), body2]))).toMatchObject({
    keyId: '0102030405060708',
    algorithm: 'EdDSA/SHA512',
  });
  expect(parsePgpSignature(Buffer.from([0xc2, 200, 4]))).toBeUndefined();
  expect(parsePgpSignature(new Uint8Array(0))).toBeUndefined();
  expect(parsePgpSignature(Buffer.from([0xc6, 1, 4]))).toBeUndefined();
});
