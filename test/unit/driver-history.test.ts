import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/artifacts/checksums.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ContentConflictError } from '../../src/errors.js';
import { DRIVERS_RECORD } from '../../src/model/history.js';
import { bytesOutput } from '../../src/model/text-output.js';
import { driverDownloadUrl } from '../../src/repos/drivers/build-drivers.js';
import {
  entryKey,
  keptDoc,
  keptDocKey,
  readSnapshotOf,
  restoreVersion,
  versionPart,
  versionsOfParts,
} from '../../src/repos/drivers/driver-history.js';
import type { DriverEntry } from '../../src/repos/drivers/driver-index.js';
import type { SectionKind, SectionResult } from '../../src/repos/section.js';
import { isBookkeeping } from '../../src/site/listing-model.js';
import { historiesOf, unheldGarbage } from '../../src/transaction/run-sections.js';
import { Spill } from '../../src/transaction/spill.js';

const cfg = resolveConfig({}, { baseUrl: 'https://download.example.org' });
const V = '7.0.0+driver';

function entry(name: string, sha256: string, arch = 'x86_64', download?: string): DriverEntry {
  return {
    lib: V,
    arch,
    kind: 'kmod',
    kernel: 'k_1',
    kernelrelease: 'k',
    kernelversion: '1',
    target: 'debian',
    name,
    download: download ?? driverDownloadUrl(cfg, V, arch, name),
    sizebytes: 10,
    size: '10 B',
    lastmodified: '2026-12-01T00:00:00.000Z',
    sha256,
  };
}

describe('the driver tree in its history', () => {
  it('has a part for index.json and one per version json, by sha256', () => {
    const read = new Map([
      [V, { sha256: 'aa', bytes: new Uint8Array([1]) }],
      ['8.0.0+driver', { sha256: '', bytes: new Uint8Array() }],
    ]);
    const snap = readSnapshotOf('["7.0.0+driver"]\n', read);
    expect(snap).toEqual({
      drivers: '["7.0.0+driver"]\n',
      'drivers/7.0.0+driver': 'aa',
      'drivers/8.0.0+driver': '',
    });
    expect(versionsOfParts(Object.keys(snap))).toEqual(['7.0.0+driver', '8.0.0+driver']);
    expect(versionPart(V)).toBe('drivers/7.0.0+driver');
  });

  it('keeps a replaced version json by content, as bookkeeping no listing shows', () => {
    const bytes = new TextEncoder().encode('{"drivers":[]}');
    const sha = sha256Hex(bytes);
    const out = keptDoc({ sha256: sha, bytes });
    expect(out.key).toBe(keptDocKey(sha));
    expect(out.key).toBe(`.pkgpub-history/drivers/${sha}.json`);
    expect(out).toMatchObject({ tier: 'content-addressed', size: bytes.length, sha256: sha });
    expect(isBookkeeping(out.key)).toBe(true);
    expect(() => keptDoc({ sha256: 'ff'.repeat(32), bytes })).toThrow(/other bytes/);
  });

  it('moves a big json read back to the spill byte for byte (BOM, characters across chunks), or keeps bytes that are not UTF-8', async () => {
    const spill = new Spill();
    try {
      // 1 MiB chunks: put a 3-byte character across the first boundary.
      const text = `\uFEFF${'x'.repeat((1 << 20) - 4)}€${'é'.repeat(200_000)}\n`;
      const bytes = new TextEncoder().encode(text);
      expect(bytes[0]).toBe(0xef);
      expect(bytes[(1 << 20) - 1]).toBe(0xe2); // € begins one byte before the first chunk ends
      const out = keptDoc({ sha256: sha256Hex(bytes), bytes }, spill.open);
      expect('file' in out.body).toBe(true);
      if (!('file' in out.body)) return;
      expect((await readFile(out.body.file)).equals(Buffer.from(bytes))).toBe(true);
      const bad = new Uint8Array([
        ...new TextEncoder().encode('{"a":"'),
        0xff,
        0xfe,
        ...new Uint8Array(300_000).fill(0x20),
        0x22,
        0x7d,
      ]);
      const kept = bytesOutput(spill.open, 'k', 'content-addressed', bad);
      expect('bytes' in kept.body && Buffer.from(kept.body.bytes).equals(Buffer.from(bad))).toBe(true);
      expect(kept.sha256).toBe(sha256Hex(bad));
    } finally {
      await spill.cleanup();
    }
  });

  it('finds a listed driver where its download URL points (%2B decoded, flat adopted layout too)', () => {
    expect(entryKey(cfg, V, entry('a.ko', 'x'))).toBe('driver/7.0.0+driver/x86_64/a.ko');
    const flat = entry('b.ko', 'x', 'x86_64', 'https://download.example.org/driver/7.0.0%2Bdriver/b.ko');
    expect(entryKey(cfg, V, flat)).toBe('driver/7.0.0+driver/b.ko');
    // Another host, or a URL that does not decode: where a publish puts it.
    const foreign = entry('c.ko', 'x', 'aarch64', 'https://elsewhere.example/driver/c.ko');
    expect(entryKey(cfg, V, foreign)).toBe('driver/7.0.0+driver/aarch64/c.ko');
    const broken = entry('d.ko', 'x', 'x86_64', 'https://download.example.org/driver/%E0%A4%A/d.ko');
    expect(entryKey(cfg, V, broken)).toBe('driver/7.0.0+driver/x86_64/d.ko');
  });

  it('restores a version: what comes back, what goes, and a driver replaced since is a conflict', () => {
    const current = [entry('a.ko', 'A'), entry('new.ko', 'N'), entry('z.ko', 'Z', 'aarch64')];
    const target = [entry('a.ko', 'A'), entry('old.ko', 'O'), entry('z.ko', 'Z', 'aarch64')];
    const r = restoreVersion(cfg, V, current, target);
    expect(r.back).toEqual([{ key: 'driver/7.0.0+driver/x86_64/old.ko', sha256: 'O', size: 10 }]);
    expect(r.gone).toEqual(['driver/7.0.0+driver/x86_64/new.ko']);
    expect(r.added).toEqual(['7.0.0+driver/x86_64/old.ko']);
    expect(r.removed).toEqual(['7.0.0+driver/x86_64/new.ko']);
    // Rolling back a prune: everything comes back.
    expect(restoreVersion(cfg, V, [], target).back).toHaveLength(3);
    expect(() => restoreVersion(cfg, V, [entry('a.ko', 'B')], target)).toThrow(ContentConflictError);
    // An adopted entry without a sha256 is unknown, not different.
    expect(restoreVersion(cfg, V, [entry('a.ko', '')], [entry('a.ko', 'A')]).back).toEqual([]);
  });

  it('splits a run into records: the channel gets apt, yum, tarballs; the driver tree its own', () => {
    const result = (
      kind: SectionKind,
      part: string,
      dropped: string[],
    ): SectionResult & { kind: SectionKind } => ({
      kind,
      changes: { added: ['x'], removed: [], unchanged: [] },
      outputs: [],
      garbage: [...dropped, `${kind}-unheld`],
      snapshot: {
        read: { [part]: '' },
        written: { [part]: 'w' },
        dropped: { [part]: dropped },
        ...(kind === 'drivers'
          ? { preserved: [dropped[0]!], summary: { added: ['bounded'], removed: [] } }
          : {}),
      },
    });
    const results = [
      result('apt', 'apt', ['pool/a.deb']),
      result('drivers', 'drivers/V', ['.pkgpub-history/drivers/s.json']),
    ];
    const [channel, drivers, ...rest] = historiesOf(results);
    expect(rest).toEqual([]);
    expect(channel).toMatchObject({ written: { apt: 'w' }, summary: { apt: { added: ['x'] } } });
    expect(channel!.record).toBeUndefined();
    expect(drivers).toMatchObject({
      record: DRIVERS_RECORD,
      written: { 'drivers/V': 'w' },
      preserved: ['.pkgpub-history/drivers/s.json'],
      summary: { drivers: { added: ['bounded'] } },
    });
    expect(unheldGarbage(results, [channel!, drivers!])).toEqual(['apt-unheld', 'drivers-unheld']);
    expect(historiesOf([])).toEqual([]);
  });
});
