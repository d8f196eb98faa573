import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDriver } from '../../src/artifacts/read-driver.js';
import type { DriverArtifact } from '../../src/artifacts/types.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ContentConflictError } from '../../src/errors.js';
import { applyPlan } from '../../src/transaction/apply.js';
import { makePlan } from '../../src/model/plan.js';
import { probeExisting } from '../../src/transaction/probe.js';
import type { OutputFile } from '../../src/model/tiers.js';
import { buildDrivers, type DriverState } from '../../src/repos/drivers/build-drivers.js';
import { compareDriverVersions, sortDriverVersions } from '../../src/repos/drivers/driver-version.js';
import { planPrune } from '../../src/repos/drivers/prune.js';
import { readDriverState } from '../../src/repos/drivers/read-driver-state.js';
import { FsStore } from '../../src/storage/fs-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

const BASE = 'https://downloads.example.test/falco';
const cfg = resolveConfig({}, { baseUrl: BASE });
const empty: DriverState = { versions: [], docs: new Map() };
const t1 = new Date('2024-05-01T12:00:00.000Z');
const t2 = new Date('2024-06-01T08:30:00.000Z');
let scratch: string;
let all: DriverArtifact[];

beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'build-drivers-'));
  const root = join(fixturesDir, 'driver');
  const files = readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
  all = await Promise.all(files.map((f) => readDriver(f)));
  expect(all.length).toBe(80);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const pick = (ver: string, arch?: string) =>
  all.filter((d) => d.driverVersion === ver && (!arch || d.arch === arch));

function json(f: OutputFile): unknown {
  if (!('bytes' in f.body)) throw new Error(`${f.key} not in memory`);
  return JSON.parse(new TextDecoder().decode(f.body.bytes));
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/**
 * The shape Falco's driver site reads, checked independently of the builder: every field, its
 * type, the index lists against the drivers, the name and URL rebuilt from the parts.
 */
function shapeProblems(doc: unknown, version: string): string[] {
  const p: string[] = [];
  const o = doc as Record<string, unknown>;
  if (typeof o !== 'object' || o === null) return ['not an object'];
  if (typeof o.date !== 'string' || !ISO.test(o.date)) p.push('date is not an ISO time');
  const index = o.index as Record<string, unknown>;
  const drivers = o.drivers as Record<string, unknown>[];
  if (!Array.isArray(drivers)) return [...p, 'drivers is not an array'];
  for (const k of ['lib', 'arch', 'kind', 'target']) {
    const list = index?.[k];
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'string')) {
      p.push(`index.${k} is not a list of strings`);
      continue;
    }
    const distinct = [...new Set(drivers.map((d) => d[k]))].sort();
    if (JSON.stringify([...list].sort()) !== JSON.stringify(distinct))
      p.push(`index.${k} is not the distinct ${k} values`);
  }
  const strings = [
    'lib',
    'arch',
    'kind',
    'kernel',
    'kernelrelease',
    'kernelversion',
    'target',
    'name',
    'download',
    'size',
  ];
  drivers.forEach((d, i) => {
    for (const f of strings)
      if (typeof d[f] !== 'string' || d[f] === '') p.push(`drivers[${i}].${f} missing`);
    if (d.lib !== version) p.push(`drivers[${i}].lib is not ${version}`);
    if (d.arch !== 'x86_64' && d.arch !== 'aarch64') p.push(`drivers[${i}].arch`);
    if (d.kind !== 'kmod' && d.kind !== 'ebpf') p.push(`drivers[${i}].kind`);
    if (d.kernel !== `${d.kernelrelease}_${d.kernelversion}`) p.push(`drivers[${i}].kernel`);
    const ext = d.kind === 'kmod' ? 'ko' : 'o';
    if (d.name !== `falco_${d.target}_${d.kernel}.${ext}`) p.push(`drivers[${i}].name does not rebuild`);
    const url = `${BASE}/driver/${encodeURIComponent(version)}/${d.arch}/${encodeURIComponent(String(d.name))}`;
    if (d.download !== url) p.push(`drivers[${i}].download ${d.download} != ${url}`);
    if (!Number.isInteger(d.sizebytes) || (d.sizebytes as number) <= 0) p.push(`drivers[${i}].sizebytes`);
    if (!/^\d+(\.\d)? (B|KiB|MiB|GiB)$/.test(String(d.size))) p.push(`drivers[${i}].size "${d.size}"`);
    if (typeof d.lastmodified !== 'string' || !ISO.test(d.lastmodified)) p.push(`drivers[${i}].lastmodified`);
    if (typeof d.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d.sha256)) p.push(`drivers[${i}].sha256`);
  });
  return p;
}

async function land(store: ObjectStore, outputs: OutputFile[], force = false) {
  const plan = makePlan(outputs, await probeExisting(store, outputs), [], { force });
  return applyPlan(plan, store);
}

/** Records what a reader asks of the store, to prove it never walks the driver tree. */
function spy(store: ObjectStore) {
  const gets: string[] = [];
  const lists: string[] = [];
  const wrapped: ObjectStore = {
    description: store.description,
    get: (k) => {
      gets.push(k);
      return store.get(k);
    },
    getStream: (k) => {
      gets.push(k);
      return store.getStream(k);
    },
    head: (k) => store.head(k),
    put: (k, b, o) => store.put(k, b, o),
    copy: (f, t, o) => store.copy(f, t, o),
    list: (p) => {
      lists.push(p);
      return store.list(p);
    },
    // One folder, never the tree below it: what the probe asks.
    listFolder: (p, n) => store.listFolder(p, n),
    delete: (k) => store.delete(k),
  };
  return { store: wrapped, gets, lists };
}

describe('buildDrivers', () => {
  it('writes every driver at driver/<version>/<arch>/<file> and indexes in the driver-site shape', () => {
    const res = buildDrivers({ cfg, state: empty, drivers: all, now: t1 });
    expect(res.changed).toBe(true);
    expect(res.changes.added).toHaveLength(80);
    expect(res.blobs.map((b) => b.key).sort()).toEqual(
      all.map((d) => `driver/${d.driverVersion}/${d.arch}/${d.fileName}`).sort(),
    );
    expect(res.blobs.every((b) => b.tier === 'blob' && b.immutable && b.key.includes('+driver/'))).toBe(true);
    expect(res.files.map((f) => [f.key, f.tier])).toEqual([
      ['driver/site/7.0.0+driver.json', 'index'],
      ['driver/site/8.0.0+driver.json', 'index'],
      ['driver/site/index.json', 'pointer'],
    ]);
    expect(json(res.files[2]!)).toEqual(['8.0.0+driver', '7.0.0+driver']);
    expect(res.versions).toEqual(['8.0.0+driver', '7.0.0+driver']);

    for (const [i, ver] of ['7.0.0+driver', '8.0.0+driver'].entries()) {
      const doc = json(res.files[i]!) as {
        drivers: Record<string, unknown>[];
        index: Record<string, string[]>;
      };
      expect(shapeProblems(doc, ver)).toEqual([]);
      expect(doc.drivers).toHaveLength(40);
      expect(doc.index.kind).toEqual(['ebpf', 'kmod']);
      expect(doc.index.arch).toEqual(['aarch64', 'x86_64']);
      expect(doc.index.target).toContain('amazonlinux2');
      for (const d of doc.drivers) {
        expect(d.download).toContain('%2B');
        expect(String(d.download)).not.toMatch(/\+/);
        // Size and checksum against the file on disk, hashed by sha256sum rather than by pkgpub.
        const file = join(fixturesDir, 'driver', ver, String(d.arch), String(d.name));
        expect(d.sizebytes).toBe(statSync(file).size);
        expect(d.sha256).toBe(execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]);
        expect(d.lastmodified).toBe(t1.toISOString());
      }
      // Kernel halves with underscores of their own survive (RHEL minor releases, minikube builds).
      const rocky = doc.drivers.find(
        (d) => d.target === 'rocky' && d.arch === 'x86_64' && d.kind === 'kmod',
      )!;
      expect([rocky.kernelrelease, rocky.kernelversion]).toEqual(['4.18.0-513.5.1.el8_9.x86_64', '1']);
      const minikube = doc.drivers.find((d) => d.target === 'minikube')!;
      expect([minikube.kernelrelease, minikube.kernelversion]).toEqual(['5.10.57', '1_1.26.0']);
    }
  });

  it('merges into a version read back from the target without reading other versions or listing the tree', async () => {
    const fs = new FsStore(join(scratch, 'merge'));
    const first = buildDrivers({
      cfg,
      state: empty,
      drivers: [...pick('7.0.0+driver'), ...pick('8.0.0+driver', 'x86_64')],
      now: t1,
    });
    await land(fs, [...first.blobs, ...first.files]);

    const { store, gets, lists } = spy(fs);
    const state = await readDriverState(store, cfg, ['8.0.0+driver']);
    expect(lists).toEqual([]);
    expect(gets.sort()).toEqual(['driver/site/8.0.0+driver.json', 'driver/site/index.json']);
    expect(state.versions).toEqual(['8.0.0+driver', '7.0.0+driver']);
    expect(state.docs.get('8.0.0+driver')!.drivers).toHaveLength(20);

    const second = buildDrivers({ cfg, state, drivers: pick('8.0.0+driver'), now: t2 });
    expect(second.changes.added).toHaveLength(20);
    expect(second.changes.unchanged).toHaveLength(20);
    expect(second.blobs.every((b) => b.key.startsWith('driver/8.0.0+driver/aarch64/'))).toBe(true);
    expect(second.files.map((f) => f.key)).toEqual([
      'driver/site/8.0.0+driver.json',
      'driver/site/index.json',
    ]);
    const doc = json(second.files[0]!) as { date: string; drivers: { arch: string; lastmodified: string }[] };
    expect(shapeProblems(doc, '8.0.0+driver')).toEqual([]);
    expect(doc.date).toBe(t2.toISOString());
    expect(doc.drivers).toHaveLength(40);
    // Entries already published keep their own time; new ones get this publish's.
    expect(new Set(doc.drivers.filter((d) => d.arch === 'x86_64').map((d) => d.lastmodified))).toEqual(
      new Set([t1.toISOString()]),
    );
    expect(new Set(doc.drivers.filter((d) => d.arch === 'aarch64').map((d) => d.lastmodified))).toEqual(
      new Set([t2.toISOString()]),
    );
    await land(fs, [...second.blobs, ...second.files]);

    const again = buildDrivers({
      cfg,
      state: await readDriverState(fs, cfg, ['8.0.0+driver', '7.0.0+driver']),
      drivers: all,
      now: t2,
    });
    expect(again.changed).toBe(false);
    expect(again.blobs).toEqual([]);
    expect(again.files).toEqual([]);
    expect(again.changes.unchanged).toHaveLength(80);
  });

  it('refuses a published driver with other bytes unless forced', async () => {
    const original = pick('7.0.0+driver', 'x86_64').find((d) => d.driverKind === 'kmod')!;
    const dir = join(scratch, 'other', '7.0.0+driver', 'x86_64');
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, basename(original.path));
    copyFileSync(original.path, copy);
    appendFileSync(copy, 'rebuilt');
    const other = await readDriver(copy);
    expect(other.sha256).not.toBe(original.sha256);

    const first = buildDrivers({ cfg, state: empty, drivers: [original], now: t1 });
    const state: DriverState = {
      versions: ['7.0.0+driver'],
      docs: new Map([['7.0.0+driver', json(first.files[0]!) as never]]),
    };
    expect(() => buildDrivers({ cfg, state, drivers: [other], now: t2 })).toThrow(ContentConflictError);
    expect(() => buildDrivers({ cfg, state, drivers: [other], now: t2 })).toThrow(
      /already published with other bytes.*--force/,
    );
    const forced = buildDrivers({ cfg, state, drivers: [other], force: true, now: t2 });
    expect(forced.blobs.map((b) => [b.key, b.sha256])).toEqual([
      [`driver/7.0.0+driver/x86_64/${other.fileName}`, other.sha256],
    ]);
    const doc = json(forced.files[0]!) as { drivers: { sha256: string; sizebytes: number }[] };
    expect(doc.drivers).toHaveLength(1);
    expect(doc.drivers[0]!.sha256).toBe(other.sha256);
    expect(doc.drivers[0]!.sizebytes).toBe(original.size + 7);

    // The same conflict inside one publish is refused even with --force: there is no right answer.
    expect(() =>
      buildDrivers({ cfg, state: empty, drivers: [original, other], force: true, now: t1 }),
    ).toThrow(ContentConflictError);
  });

  it('relists a version whose index landed but whose index.json did not (an interrupted publish)', () => {
    const first = buildDrivers({ cfg, state: empty, drivers: pick('7.0.0+driver'), now: t1 });
    const state: DriverState = {
      versions: [],
      docs: new Map([['7.0.0+driver', json(first.files[0]!) as never]]),
    };
    const res = buildDrivers({ cfg, state, drivers: pick('7.0.0+driver'), now: t2 });
    expect(res.blobs).toEqual([]);
    expect(res.changed).toBe(true);
    expect(json(res.files.at(-1)!)).toEqual(['7.0.0+driver']);
  });
});

/** A driver artifact that needs no file: buildDrivers reads only what the read pass found. */
function synthetic(fileName: string, arch: string, sha: string, ver = '9.0.0+driver'): DriverArtifact {
  const sha256 = sha.repeat(64).slice(0, 64);
  return {
    kind: 'driver',
    path: `/in/${ver}/${arch}/${fileName}#${sha}`,
    fileName,
    name: 'falco',
    version: ver,
    arch,
    size: 1000,
    sha256,
    digests: { size: 1000, sha256 },
    driverKind: fileName.endsWith('.o') ? 'ebpf' : 'kmod',
    target: 'ubuntu-generic',
    kernelRelease: '5.15.0-1-generic',
    kernelVersion: '1',
    driverVersion: ver,
  };
}

describe('buildDrivers merging in index order', () => {
  const doc = (f: OutputFile) => json(f) as { drivers: { name: string; arch: string; sha256: string }[] };

  it('reports the input order, counts a repeated identical file once, and writes the index by name then arch', () => {
    const input = [
      synthetic('c.ko', 'x86_64', 'c'),
      synthetic('a.ko', 'x86_64', 'a'),
      synthetic('b.ko', 'aarch64', 'b'),
      synthetic('a.ko', 'aarch64', 'd'),
      synthetic('a.ko', 'x86_64', 'a'),
      synthetic('z.o', 'x86_64', 'e', '8.0.0+driver'),
    ];
    const res = buildDrivers({ cfg, state: empty, drivers: input, now: t1 });
    expect(res.changes.added).toEqual([
      '9.0.0+driver/x86_64/c.ko',
      '9.0.0+driver/x86_64/a.ko',
      '9.0.0+driver/aarch64/b.ko',
      '9.0.0+driver/aarch64/a.ko',
      '8.0.0+driver/x86_64/z.o',
    ]);
    expect(res.blobs.map((b) => b.key)).toEqual(res.changes.added.map((l) => `driver/${l}`));
    expect(res.files.map((f) => f.key)).toEqual([
      'driver/site/8.0.0+driver.json',
      'driver/site/9.0.0+driver.json',
      'driver/site/index.json',
    ]);
    expect(doc(res.files[1]!).drivers.map((d) => `${d.name}/${d.arch}`)).toEqual([
      'a.ko/aarch64',
      'a.ko/x86_64',
      'b.ko/aarch64',
      'c.ko/x86_64',
    ]);
  });

  it("reads another tool's unordered index with a repeated file as the last of them, and merges into it", () => {
    const first = doc(
      buildDrivers({
        cfg,
        state: empty,
        drivers: [
          synthetic('a.ko', 'x86_64', '1'),
          synthetic('b.ko', 'x86_64', '2'),
          synthetic('c.ko', 'x86_64', '3'),
        ],
        now: t1,
      }).files[0]!,
    ).drivers;
    const [a, b, c] = first as unknown as DriverEntryLike[];
    const stale = { ...b!, sha256: '9'.repeat(64) };
    const state: DriverState = {
      versions: ['9.0.0+driver'],
      docs: new Map([['9.0.0+driver', { drivers: [c, stale, a, b] as never }]]),
    };
    const res = buildDrivers({
      cfg,
      state,
      drivers: [synthetic('b.ko', 'x86_64', '2'), synthetic('aa.ko', 'x86_64', '4')],
      now: t2,
    });
    expect(res.changes).toEqual({
      added: ['9.0.0+driver/x86_64/aa.ko'],
      removed: [],
      unchanged: ['9.0.0+driver/x86_64/b.ko'],
    });
    expect(doc(res.files[0]!).drivers.map((d) => [d.name, d.sha256[0]])).toEqual([
      ['a.ko', '1'],
      ['aa.ko', '4'],
      ['b.ko', '2'],
      ['c.ko', '3'],
    ]);
  });

  it('refuses with the conflict a loop over the input meets first', () => {
    const published = buildDrivers({
      cfg,
      state: empty,
      drivers: [synthetic('a.ko', 'x86_64', '1'), synthetic('m.ko', 'x86_64', '2')],
      now: t1,
    });
    const state: DriverState = {
      versions: ['9.0.0+driver'],
      docs: new Map([['9.0.0+driver', json(published.files[0]!) as never]]),
    };
    const run = (drivers: DriverArtifact[]) => () => buildDrivers({ cfg, state, drivers, now: t2 });
    // z.ko twice with other bytes comes first in the input; a.ko against the published one second.
    expect(
      run([
        synthetic('z.ko', 'x86_64', '3'),
        synthetic('z.ko', 'x86_64', '4'),
        synthetic('a.ko', 'x86_64', '5'),
      ]),
    ).toThrow(/z\.ko#4 and .*z\.ko#3 both claim 9\.0\.0\+driver\/x86_64\/z\.ko/);
    expect(
      run([
        synthetic('m.ko', 'x86_64', '6'),
        synthetic('z.ko', 'x86_64', '3'),
        synthetic('z.ko', 'x86_64', '4'),
      ]),
    ).toThrow(/m\.ko#6: 9\.0\.0\+driver\/x86_64\/m\.ko is already published/);
  });
});

type DriverEntryLike = Record<string, unknown>;

describe('driver versions', () => {
  it('sort newest first: semver precedence, pre-releases below releases, commit ids last', () => {
    const shuffled = [
      '7.0.0+driver',
      'abc1234def',
      '10.0.0+driver',
      '8.0.0-rc1+driver',
      '8.0.0+driver',
      '8.0.0-rc2+driver',
      '2.0.0',
    ];
    expect(sortDriverVersions(shuffled)).toEqual([
      '10.0.0+driver',
      '8.0.0+driver',
      '8.0.0-rc2+driver',
      '8.0.0-rc1+driver',
      '7.0.0+driver',
      '2.0.0',
      'abc1234def',
    ]);
    expect(compareDriverVersions('9.0.0+driver', '10.0.0+driver')).toBeLessThan(0);
  });

  it('prune keeps the newest N and removes the rest', () => {
    expect(planPrune(['7.0.0+driver', '9.0.0+driver', '8.0.0+driver'], 2)).toEqual({
      keep: ['9.0.0+driver', '8.0.0+driver'],
      remove: ['7.0.0+driver'],
    });
    expect(planPrune(['7.0.0+driver'], 3)).toEqual({ keep: ['7.0.0+driver'], remove: [] });
    expect(() => planPrune(['7.0.0+driver'], 0)).toThrow(RangeError);
  });
});
