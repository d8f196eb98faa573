import { cp, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DriverArtifact } from '../../src/artifacts/types.js';
import { adopt } from '../../src/changes/adopt.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { parseArmoredSignature, signedBy } from '../../src/formats/pgp-signature-packet.js';
import { aptLeftovers } from '../../src/repos/apt/adopt-apt.js';
import {
  adoptDrivers,
  mergeListed,
  orderListed,
  placeDriverKey,
} from '../../src/repos/drivers/adopt-drivers.js';
import { buildDrivers } from '../../src/repos/drivers/build-drivers.js';
import { parseDriverVersionDoc } from '../../src/repos/drivers/driver-index.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { CountingStore } from '../support/counting-store.js';
import { makeTestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

const cfg = resolveConfig({}, { baseUrl: 'https://dl.example.test' });
const now = new Date('2025-01-01T00:00:00Z');
let root: string;

async function put(key: string, bytes = '\x7fELF stub'): Promise<void> {
  await mkdir(dirname(join(root, key)), { recursive: true });
  await writeFile(join(root, key), bytes);
}

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  root = await mkdtemp(join(scratchRoot, 'adopt-unit-'));
  await put('driver/7.0.0+driver/x86_64/falco_debian_5.10.0-8-amd64_1.ko');
  await put('driver/7.0.0+driver/aarch64/falco_debian_5.10.0-8-arm64_1.o');
  await put('driver/2.0.0+driver/falco_centos_4.18.0-513.5.1.el8_9.x86_64_1.ko');
  await put('driver/2.0.0+driver/falco_debian_5.10.0-8-amd64_1.ko');
  await put('driver/2.0.0+driver/x86_64/falco_debian_5.10.0-8-amd64_1.ko');
  await put('driver/2.0.0+driver/README.txt', 'not a driver');
  await put('driver/tmp/falco_debian_5.10.0-8-amd64_1.ko');
});

describe('placeDriverKey', () => {
  it('reads both shapes and refuses what is not a driver', () => {
    expect(placeDriverKey(cfg, 'driver/7.0.0+driver/aarch64/falco_a_5.1_1.o')).toEqual({
      version: '7.0.0+driver',
      arch: 'aarch64',
      name: 'falco_a_5.1_1.o',
      flat: false,
    });
    expect(placeDriverKey(cfg, 'driver/2.0.0+driver/falco_a_5.1_1.ko')?.arch).toBe('x86_64');
    expect(placeDriverKey(cfg, 'driver/2.0.0+driver/falco_a_5.1_1.ko')?.flat).toBe(true);
    expect(placeDriverKey(cfg, 'driver/site/7.0.0+driver.json')).toBeUndefined();
    expect(placeDriverKey(cfg, 'driver/tmp/falco_a_5.1_1.ko')).toBeUndefined();
    expect(placeDriverKey(cfg, 'driver/7.0.0+driver/x86_64/index.html')).toBeUndefined();
    expect(placeDriverKey(cfg, 'driver/7.0.0+driver/mips/falco_a_5.1_1.ko')).toBeUndefined();
  });
});

describe('orderListed and mergeListed', () => {
  const f = (name: string, arch: string, flat: boolean) => ({
    name,
    arch,
    key: flat ? `driver/v/${name}` : `driver/v/${arch}/${name}`,
    size: 1,
    lastmodified: '',
    flat,
    sha256: '',
  });
  it('keeps the arch folder copy of a file that is also flat, in index order', () => {
    const got = orderListed([
      f('b.ko', 'x86_64', true),
      f('a.ko', 'x86_64', true),
      f('b.ko', 'x86_64', false),
    ]);
    expect(got.map((x) => [x.name, x.flat])).toEqual([
      ['a.ko', true],
      ['b.ko', false],
    ]);
  });
  it('adds what the published index lacks and fills a missing sha256 from a hashed listing', () => {
    const published = [
      {
        ...f('a.ko', 'x86_64', false),
        lib: 'v',
        kind: 'kmod' as const,
        kernel: '',
        kernelrelease: '',
        kernelversion: '',
        target: '',
        download: '',
        sizebytes: 1,
        size: '1 B',
      },
    ];
    const listed = [{ ...f('a.ko', 'x86_64', false), sha256: 'ab'.repeat(32) }, f('c.ko', 'x86_64', false)];
    const m = mergeListed(published, listed);
    expect(m.added).toBe(1);
    expect(m.filled).toBe(1);
    expect(m.items.map((i) => i.sha256)).toEqual(['ab'.repeat(32), '']);
  });
});

describe('adoptDrivers on a folder', () => {
  it('indexes every driver version from a listing, and a second run finds the indexes complete', async () => {
    const store = new FsStore(root);
    const first = await adoptDrivers({ store, cfg, now });
    expect(first.versions.map((v) => [v.version, v.files, v.flat, v.added])).toEqual([
      ['2.0.0+driver', 2, 1, 2],
      ['7.0.0+driver', 2, 0, 2],
    ]);
    expect(first.unrecognized.sort()).toEqual([
      'driver/2.0.0+driver/README.txt',
      'driver/tmp/falco_debian_5.10.0-8-amd64_1.ko',
    ]);
    for (const o of first.outputs) {
      if ('copyFrom' in o.body) throw new Error(`adopt copies nothing, yet ${o.key} is a copy`);
      await store.put(o.key, o.body);
    }
    const doc = parseDriverVersionDoc((await store.get('driver/site/2.0.0+driver.json'))!, 'doc');
    expect(
      doc.drivers.map((d) => [d.name, d.arch, d.download.slice('https://dl.example.test/'.length)]),
    ).toEqual([
      [
        'falco_centos_4.18.0-513.5.1.el8_9.x86_64_1.ko',
        'x86_64',
        'driver/2.0.0%2Bdriver/falco_centos_4.18.0-513.5.1.el8_9.x86_64_1.ko',
      ],
      [
        'falco_debian_5.10.0-8-amd64_1.ko',
        'x86_64',
        'driver/2.0.0%2Bdriver/x86_64/falco_debian_5.10.0-8-amd64_1.ko',
      ],
    ]);
    expect(doc.drivers[0]!.kernelrelease).toBe('4.18.0-513.5.1.el8_9.x86_64');
    // The filter values the driver browser offers, as written (not as a parse recomputes them).
    const raw = JSON.parse(new TextDecoder().decode(await store.get('driver/site/7.0.0+driver.json'))) as {
      index: unknown;
    };
    expect(raw.index).toEqual({
      lib: ['7.0.0+driver'],
      arch: ['aarch64', 'x86_64'],
      kind: ['ebpf', 'kmod'],
      target: ['debian'],
    });
    expect(new TextDecoder().decode(await store.get('driver/site/index.json'))).toBe(
      '["7.0.0+driver","2.0.0+driver"]\n',
    );
    const again = await adoptDrivers({ store, cfg, now });
    expect(again.outputs).toEqual([]);
    const hashed = await adoptDrivers({ store, cfg, now, hash: true });
    expect(hashed.hashed).toBe(4);
    expect(hashed.versions.map((v) => v.filled)).toEqual([2, 2]);
  });

  it('a publish of a driver adopted without a sha256 is not a conflict: the plan judges the bytes', () => {
    const entry = {
      lib: '7.0.0+driver',
      arch: 'x86_64',
      kind: 'kmod' as const,
      kernel: '5.10.0-8-amd64_1',
      kernelrelease: '5.10.0-8-amd64',
      kernelversion: '1',
      target: 'debian',
      name: 'falco_debian_5.10.0-8-amd64_1.ko',
      download: '',
      sizebytes: 10,
      size: '10 B',
      lastmodified: '',
      sha256: '',
    };
    const d = {
      kind: 'driver',
      path: '/x/falco_debian_5.10.0-8-amd64_1.ko',
      fileName: entry.name,
      name: 'falco',
      version: entry.lib,
      arch: 'x86_64',
      size: 10,
      sha256: 'cd'.repeat(32),
      digests: { size: 10, sha256: 'cd'.repeat(32) },
      driverKind: 'kmod',
      target: 'debian',
      kernelRelease: entry.kernelrelease,
      kernelVersion: '1',
      driverVersion: entry.lib,
    } as DriverArtifact;
    const state = { versions: [entry.lib], docs: new Map([[entry.lib, { drivers: [entry] }]]) };
    const built = buildDrivers({ cfg, state, drivers: [d], now });
    expect(built.changes.added).toEqual([`${entry.lib}/x86_64/${entry.name}`]);
    expect(() =>
      buildDrivers({
        cfg,
        state: {
          ...state,
          docs: new Map([[entry.lib, { drivers: [{ ...entry, sha256: 'ef'.repeat(32) }] }]]),
        },
        drivers: [d],
        now,
      }),
    ).toThrow(/already published with other bytes/);
  });
});

describe('signedBy', () => {
  it('names the key that made an armored detached or clearsigned signature', async () => {
    const mine = await makeTestKey();
    const other = await makeTestKey();
    const { signer } = await loadSigner({ keyFile: mine.secretFile });
    const detached = await signer.detachSignArmored(new TextEncoder().encode('Origin: x\n'));
    const clear = await signer.clearsign('Origin: x\n');
    for (const sig of [detached, clear]) {
      expect(parseArmoredSignature(sig)?.fingerprint).toBe(signer.signingKeyFingerprint.toLowerCase());
      expect(signedBy(sig, signer.signingKeyFingerprint)).toBe(true);
      expect(signedBy(sig, other.fingerprint)).toBe(false);
    }
    expect(signedBy('not a signature', signer.signingKeyFingerprint)).toBe(false);
  });
});

describe('adopt lists the tree once', () => {
  it('one recursive listing serves every kind and the listing tier (the foreign tree, no listings yet)', async () => {
    const tree = await mkdtemp(join(scratchRoot, 'adopt-lists-'));
    await cp(join(fixturesDir, 'foreign', 'tree'), tree, { recursive: true });
    const signer = (await loadSigner({ keyArmored: (await makeTestKey()).privateArmored })).signer;
    const files = (await readdir(tree, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
    const store = new CountingStore(new FsStore(tree));
    const res = await adopt({ store, cfg, signer });
    expect(res.report.drivers.versions).toHaveLength(3);
    // Every folder got a listing (the root's included), from the one walk.
    expect(res.plan.tiers.find((t) => t.tier === 'listing')?.steps.map((s) => s.file.key)).toContain(
      'listing.json',
    );
    expect(store.lists).toEqual(['']);
    // Every file of the tree, and the lease the run holds.
    expect(store.listed).toBe(files.length + 1);
    // Adopting the adopted tree: still one walk, and nothing to write.
    const again = new CountingStore(new FsStore(tree));
    const second = await adopt({ store: again, cfg, signer });
    expect(second.plan.tiers).toEqual([]);
    expect(again.lists).toEqual(['']);
  });
});

describe('aptLeftovers', () => {
  it('names what neither the Release nor pkgpub names under dists/, never a by-hash file or a listing', () => {
    const d = 'packages/deb/dists/stable';
    const release = [
      'Suite: stable',
      'SHA256:',
      ' aa 10 main/binary-amd64/Packages',
      ' bb 5 main/binary-amd64/Packages.gz',
      ' cc 4 main/binary-arm64/Packages.xz',
      '',
    ].join('\n');
    const present = [
      'Release',
      'Release.gpg',
      'InRelease',
      'pkgpub-generations.json',
      'index.html',
      'listing.json',
      'main/binary-amd64/Packages',
      'main/binary-amd64/Packages.gz',
      'main/binary-amd64/Packages.bz2',
      'main/binary-amd64/Release',
      'main/binary-amd64/by-hash/SHA256/dd',
      'main/binary-arm64/Packages.xz',
      'main/Contents-amd64.gz',
    ].map((k) => `${d}/${k}`);
    expect(aptLeftovers(d, present, release)).toEqual(
      ['main/Contents-amd64.gz', 'main/binary-amd64/Packages.bz2', 'main/binary-amd64/Release'].map(
        (k) => `${d}/${k}`,
      ),
    );
  });
});
