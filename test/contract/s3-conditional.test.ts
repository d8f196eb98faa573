import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/artifacts/checksums.js';
import { historyKey, parseHistory } from '../../src/model/history.js';
import { rollback } from '../../src/changes/rollback.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ContentConflictError, PreconditionError } from '../../src/errors.js';
import { promote } from '../../src/changes/promote.js';
import { publish } from '../../src/changes/publish.js';
import { prune } from '../../src/changes/prune.js';
import { pruneDrivers } from '../../src/changes/prune-drivers.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import type { S3Store } from '../../src/storage/s3-store.js';
import { makeTestKey } from '../support/keys.js';
import { driverVersionFolder } from '../support/driver-versions.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { type Fault, type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { type S3rverHandle, startS3rver, storeOn } from '../support/s3rver.js';
import { PauseBeforeWrite } from '../support/pause-store.js';
import { objectStoreContract } from './object-store.contract.js';

// Neither local server enforces conditional PUTs (s3rver ignores them, Swift answers 501), so the
// path AWS takes (If-Match / If-None-Match sent, 412 back) runs against s3rver behind a proxy that
// enforces them.
let server: S3rverHandle;
let proxy: FaultProxy;
let planned: ((method: string, url: string) => Fault | undefined) | undefined;
beforeAll(async () => {
  server = await startS3rver();
  proxy = await startFaultProxy(server.endpoint, {
    failureRate: 0,
    seed: 1,
    conditional: true,
    plan: (m, u) => planned?.(m, u),
  });
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

const storeAt = (prefix: string) =>
  storeOn(server, prefix, { endpoint: proxy.endpoint, retry: { baseDelayMs: 5 } });

objectStoreContract('s3rver behind a proxy enforcing If-Match', async (ns) => ({ store: storeAt(ns) }), {
  keepsSha256: true,
  listsMd5: true,
  conditionalWrites: true,
  pagination: false,
  multipartEtag: 'whole-md5',
  atomicOverwrite: false,
  keyOrderListing: false,
});

describe('S3Store conditional writes on an endpoint that enforces them', () => {
  it('sends If-None-Match: * / If-Match and turns 412 into PreconditionError', async () => {
    const store = storeAt('cond-headers');
    const before = proxy.requests.length;
    const first = await store.put('Release', { bytes: new TextEncoder().encode('r1') }, { ifMatch: '' });
    await expect(
      store.put(
        'Release',
        { bytes: new TextEncoder().encode('r2') },
        { ifMatch: 'ffffffffffffffffffffffffffffffff' },
      ),
    ).rejects.toThrow(PreconditionError);
    await store.put('Release', { bytes: new TextEncoder().encode('r2') }, { ifMatch: first.etag! });
    const puts = proxy.requests
      .slice(before)
      .filter((r) => r.startsWith('PUT') && r.includes('/cond-headers/Release'));
    expect(puts.length).toBe(3);
    // No pre-check HEADs once the endpoint is known to compare and swap itself.
    expect(
      proxy.requests.slice(before).filter((r) => r.startsWith('HEAD') && r.includes('/cond-headers/Release')),
    ).toEqual([]);
  });

  it('treats a 412 on the retry of a write that landed (reply lost) as success', async () => {
    const store = storeAt('cond-landed');
    await store.supportsConditionalWrites();
    let armed = true;
    planned = (method, url) => {
      if (armed && method === 'PUT' && url.includes('/cond-landed/InRelease')) {
        armed = false;
        return 'reset-after';
      }
      return undefined;
    };
    try {
      const info = await store.put(
        'InRelease',
        { bytes: new TextEncoder().encode('signed') },
        { ifMatch: '' },
      );
      expect(info.size).toBe(6);
    } finally {
      planned = undefined;
    }
    expect(armed).toBe(false);
    expect(
      proxy.requests.filter((r) => r.startsWith('PUT') && r.includes('/cond-landed/InRelease')).length,
    ).toBe(2);
    expect(new TextDecoder().decode(await store.get('InRelease'))).toBe('signed');
    // A real conflict is still one.
    await expect(
      store.put('InRelease', { bytes: new TextEncoder().encode('other') }, { ifMatch: '' }),
    ).rejects.toThrow(PreconditionError);
  });
});

describe('publishers without a lock on an endpoint that compares and swaps', () => {
  const cfg = resolveConfig({});
  const deb = (n: string) => join(fixturesDir, 'deb', n);
  const rpm = (n: string) => join(fixturesDir, 'rpm', n);
  let signer: Signer;
  beforeAll(async () => {
    signer = (await loadSigner({ keyArmored: (await makeTestKey()).privateArmored })).signer;
  });
  const packagesOf = async (store: S3Store) =>
    new TextDecoder().decode(await store.get('packages/deb/dists/stable/main/binary-amd64/Packages'));
  const primaryNames = async (store: S3Store) => {
    const repomd = new TextDecoder().decode(await store.get('packages/rpm/repodata/repomd.xml'));
    const href = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(repomd)![1]!;
    const { gunzipSync } = await import('node:zlib');
    const xml = gunzipSync((await store.get(`packages/rpm/${href}`))!).toString();
    return [...xml.matchAll(/<name>([^<]+)<\/name>/g)].map((m) => m[1]).sort();
  };

  it('a publisher whose state went stale before its commit re-reads, merges and keeps both', async () => {
    const prefix = 'optimistic-stale';
    const steps: string[] = [];
    const before = proxy.requests.length;
    // A has read the (empty) state, built and uploaded its packages; before it writes its first
    // index, B publishes completely; then A goes on and meets B's commit.
    const b = () =>
      publish({
        inputs: [deb('epochpkg_2.0-1_amd64.deb'), rpm('falcoctl-1.0~rc1-2.el9.noarch.rpm')],
        store: storeAt(prefix),
        cfg,
        signer,
      });
    const a = await publish({
      inputs: [deb('falco_0.38.1_amd64.deb'), rpm('falco-0.39.0-1.x86_64.rpm')],
      store: new PauseBeforeWrite(storeAt(prefix), '/Packages', b),
      cfg,
      signer,
      progress: { onStep: (l) => steps.push(l) },
    });
    // A's second attempt found B's commit and added its own packages to it.
    expect(a.changes.apt.added).toEqual(['falco 0.38.1 amd64']);
    expect(a.changes.yum.added).toEqual(['falco 0.39.0-1 x86_64']);
    expect(steps.some((l) => /re-reading the target and merging \(attempt 2\)/.test(l))).toBe(true);
    const packages = await packagesOf(storeAt(prefix));
    expect(packages).toContain('Package: falco\n');
    expect(packages).toContain('Package: epochpkg\n');
    expect(await primaryNames(storeAt(prefix))).toEqual(['falco', 'falcoctl']);
    // No lock object: the compare-and-swap on the state files did the work.
    expect(proxy.requests.slice(before).filter((r) => r.includes('.pkgpub-lock'))).toEqual([]);
  });

  it('promote runs lock-free too: paused before its Packages while a publish lands in stable, it merges, copying only', async () => {
    const prefix = 'optimistic-promote';
    const dev = resolveConfig({}, { channel: 'dev' });
    await publish({
      inputs: [deb('falco_0.39.0_amd64.deb'), rpm('falco-0.39.0-1.x86_64.rpm')],
      store: storeAt(prefix),
      cfg: dev,
      signer,
    });
    const before = proxy.requests.length;
    const traffic = proxy.traffic.length;
    const steps: string[] = [];
    const b = () =>
      publish({ inputs: [deb('epochpkg_2.0-1_amd64.deb')], store: storeAt(prefix), cfg, signer });
    const res = await promote({
      specs: [{ name: 'falco' }],
      from: dev,
      cfg,
      signer,
      store: new PauseBeforeWrite(storeAt(prefix), '/Packages', b),
      progress: { onStep: (l) => steps.push(l) },
    });
    const end = proxy.traffic.length;
    expect(res.attempts).toBe(2);
    expect(steps.some((l) => /re-reading the target and merging \(attempt 2\)/.test(l))).toBe(true);
    expect(res.report.changes.apt.added).toEqual(['falco 0.39.0 amd64']);
    expect(res.report.changes.yum.added).toEqual(['falco 0.39.0-1 x86_64']);
    const store = storeAt(prefix);
    const packages = await packagesOf(store);
    expect(packages).toContain('Package: falco\n');
    expect(packages).toContain('Package: epochpkg\n');
    expect(await primaryNames(store)).toEqual(['falco']);
    const sha = (b: Uint8Array | undefined) => createHash('sha256').update(b!).digest('hex');
    for (const [stable, devKey] of [
      ['packages/deb/stable/falco_0.39.0_amd64.deb', 'packages/deb-dev/stable/falco_0.39.0_amd64.deb'],
      ['packages/rpm/falco-0.39.0-1.x86_64.rpm', 'packages/rpm-dev/falco-0.39.0-1.x86_64.rpm'],
    ] as const)
      expect(sha(await store.get(stable))).toBe(sha(await store.get(devKey)));
    // Through the guarded store the packages went by CopyObject only (the probe may HEAD them), and
    // no lock was taken. The publish that came between wrote only its own deb.
    const packageRequests = proxy.traffic
      .slice(traffic, end)
      .filter((t) => /\/falco[^/]*\.(deb|rpm)$/.test(t.url.split('?')[0]!));
    expect(packageRequests.filter((t) => t.copySource !== undefined)).toHaveLength(2);
    expect(
      packageRequests
        .filter((t) => t.copySource === undefined && t.method !== 'HEAD')
        .map((t) => `${t.method} ${t.url}`),
    ).toEqual([]);
    expect(proxy.requests.slice(before).filter((r) => r.includes('.pkgpub-lock'))).toEqual([]);
  });

  it('a conflict on a listing after the pointers committed still ends with both in the listing', async () => {
    const prefix = 'optimistic-listing';
    const steps: string[] = [];
    const b = () =>
      publish({ inputs: [deb('epochpkg_2.0-1_amd64.deb')], store: storeAt(prefix), cfg, signer });
    // The pool folder already has a listing.json, which both publishers read and extend.
    await publish({ inputs: [deb('falco_0.39.0_amd64.deb')], store: storeAt(prefix), cfg, signer });
    // A's repository commit is complete; B publishes before A writes the pool folder's listing.
    await publish({
      inputs: [deb('falco_0.38.1_amd64.deb')],
      store: new PauseBeforeWrite(storeAt(prefix), 'packages/deb/stable/listing.json', b),
      cfg,
      signer,
      progress: { onStep: (l) => steps.push(l) },
    });
    expect(steps.some((l) => /listing\.json changed .*re-reading/.test(l))).toBe(true);
    const listing = JSON.parse(
      new TextDecoder().decode(await storeAt(prefix).get('packages/deb/stable/listing.json')),
    ) as { entries: { name: string }[] };
    const names = listing.entries.map((e) => e.name);
    expect(names).toContain('falco_0.38.1_amd64.deb');
    expect(names).toContain('falco_0.39.0_amd64.deb');
    expect(names).toContain('epochpkg_2.0-1_amd64.deb');
    const page = new TextDecoder().decode(await storeAt(prefix).get('packages/deb/stable/index.html'));
    expect(page).toContain('falco_0.38.1_amd64.deb');
    expect(page).toContain('epochpkg_2.0-1_amd64.deb');
  });

  // One round per test, so each stays far inside its timeout on a busy machine.
  it.each(Array.from({ length: 10 }, (_, i) => i))(
    'two publishers started together keep every package (round %i)',
    async (round) => {
      const prefix = `optimistic-race${round}`;
      await Promise.all([
        publish({
          inputs: [deb('falco_0.38.1_amd64.deb'), rpm('falco-0.39.0-1.x86_64.rpm')],
          store: storeAt(prefix),
          cfg,
          signer,
        }),
        publish({
          inputs: [deb('epochpkg_2.0-1_amd64.deb'), rpm('falcoctl-1.0~rc1-2.el9.noarch.rpm')],
          store: storeAt(prefix),
          cfg,
          signer,
        }),
      ]);
      const packages = await packagesOf(storeAt(prefix));
      expect(packages).toContain('Package: falco\n');
      expect(packages).toContain('Package: epochpkg\n');
      expect(await primaryNames(storeAt(prefix))).toEqual(['falco', 'falcoctl']);
    },
  );

  it('a content conflict (needs --force) fails in one attempt, with the inputs read once', async () => {
    const prefix = 'optimistic-content';
    const inputs = mkdtempSync(join(scratchRoot, 'content-conflict-'));
    try {
      await publish({
        inputs: [driverVersionFolder(inputs, '5.0.0+driver', { count: 2 })],
        store: storeAt(prefix),
        cfg,
      });
      const other = driverVersionFolder(join(inputs, 'other'), '5.0.0+driver', { count: 2, salt: 'rebuilt' });
      const reads: string[] = [];
      const steps: string[] = [];
      const before = proxy.requests.length;
      const err = await publish({
        inputs: [other],
        store: storeAt(prefix),
        cfg,
        progress: { onRead: (a) => reads.push(a.path), onStep: (l) => steps.push(l) },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(ContentConflictError);
      expect(String(err)).toMatch(/already published with other bytes.*--force/);
      expect(reads).toHaveLength(2);
      expect(steps.filter((l) => /re-reading/.test(l))).toEqual([]);
      // One read of the version's state, no second attempt, nothing written (but the store's
      // one-time check that the endpoint compares and swaps).
      const mine = proxy.requests.slice(before);
      expect(
        mine.filter(
          (r) => r.startsWith('GET') && r.includes('/optimistic-content/driver/site/5.0.0%2Bdriver.json'),
        ),
      ).toHaveLength(1);
      expect(mine.filter((r) => /^(PUT|DELETE|POST)/.test(r) && !r.includes('/.pkgpub-probe-'))).toEqual([]);
    } finally {
      rmSync(inputs, { recursive: true, force: true });
    }
  });

  it('a drivers prune racing a publish: the prune re-reads and keeps the published version', async () => {
    const prefix = 'optimistic-prune';
    const inputs = mkdtempSync(join(scratchRoot, 'prune-race-'));
    try {
      const old = ['1.0.0+driver', '2.0.0+driver', '3.0.0+driver'].map((v) =>
        driverVersionFolder(inputs, v, { count: 2 }),
      );
      await publish({ inputs: old, store: storeAt(prefix), cfg });
      const v4 = driverVersionFolder(inputs, '4.0.0+driver', { count: 2 });
      const steps: string[] = [];
      // The prune has read the version list and is about to replace it; the publish lands first.
      const pruned = await pruneDrivers({
        store: new PauseBeforeWrite(storeAt(prefix), 'driver/site/index.json', () =>
          publish({ inputs: [v4], store: storeAt(prefix), cfg }),
        ),
        cfg,
        keep: 2,
        progress: { onStep: (l) => steps.push(l) },
      });
      expect(steps.some((l) => /index\.json changed .*re-reading the target/.test(l))).toBe(true);
      expect(pruned.attempts).toBe(2);
      expect(pruned.report.keep).toEqual(['4.0.0+driver', '3.0.0+driver']);
      expect(pruned.report.remove).toEqual(['2.0.0+driver', '1.0.0+driver']);
      const store = storeAt(prefix);
      const versions = JSON.parse(new TextDecoder().decode(await store.get('driver/site/index.json')));
      expect(versions).toEqual(['4.0.0+driver', '3.0.0+driver']);
      expect(await store.head('driver/site/4.0.0+driver.json')).toBeDefined();
      const listing = JSON.parse(new TextDecoder().decode(await store.get('driver/listing.json'))) as {
        entries: { name: string }[];
      };
      // The pruned versions' drivers are held by the driver tree's history, so their folders stay
      // listed; their jsons are gone from the site and kept by content for drivers rollback.
      expect(listing.entries.map((e) => e.name).sort()).toEqual([
        '1.0.0+driver',
        '2.0.0+driver',
        '3.0.0+driver',
        '4.0.0+driver',
        'site',
      ]);
      const left: string[] = [];
      for await (const o of store.list('driver/')) left.push(o.key);
      expect(left.some((k) => k.startsWith('driver/1.0.0+driver/'))).toBe(true);
      expect(left.filter((k) => /^driver\/site\/[12]\.0\.0\+driver\.json$/.test(k))).toEqual([]);
      const kept: string[] = [];
      for await (const o of store.list('.pkgpub-history/drivers/')) kept.push(o.key);
      expect(kept).toHaveLength(2);
      // The first attempt's generation, written before its index.json met the conflict, was never
      // committed: the publish found it out and replaced it; the retry's generation follows.
      const history = JSON.parse(
        new TextDecoder().decode(await store.get('.pkgpub-history/drivers.json')),
      ) as {
        entries: { command: string; snapshot: Record<string, string> }[];
      };
      expect(history.entries.map((e) => e.command)).toEqual(['publish', 'publish', 'drivers prune']);
      expect(history.entries.at(-1)!.snapshot.drivers).toBe(`${JSON.stringify(versions)}\n`);
      expect(
        left.filter((k) => k.startsWith('driver/4.0.0+driver/x86_64/') && /\.(ko|o)$/.test(k)).length,
      ).toBeGreaterThan(0);
    } finally {
      rmSync(inputs, { recursive: true, force: true });
    }
  });
  it('a rollback racing a publish: the publish commits first, the rollback stops without writing and says why', async () => {
    const prefix = 'optimistic-rollback';
    await publish({ inputs: [deb('falco_0.38.1_amd64.deb')], store: storeAt(prefix), cfg, signer });
    await publish({ inputs: [deb('falco_0.39.0_amd64.deb')], store: storeAt(prefix), cfg, signer });
    const steps: string[] = [];
    // The rollback has chosen generation 1 and is about to commit; a publish lands first. Going one
    // back from there would undo that publish, and restoring generation 1 would drop its package.
    const racing = rollback({
      store: new PauseBeforeWrite(storeAt(prefix), 'InRelease', () =>
        publish({ inputs: [deb('epochpkg_2.0-1_amd64.deb')], store: storeAt(prefix), cfg, signer }),
      ),
      cfg,
      signer,
      progress: { onStep: (l) => steps.push(l) },
    });
    await expect(racing).rejects.toThrow(
      /changed while the rollback ran: generation 3 .*publish.*nothing was rolled back/,
    );
    expect(steps.some((l) => /InRelease changed .*re-reading the target/.test(l))).toBe(true);
    const packages = new TextDecoder().decode(
      await storeAt(prefix).get('packages/deb/dists/stable/main/binary-amd64/Packages'),
    );
    // Both publishes and nothing of the rollback: every version is still served.
    expect(packages.match(/^Version: .*$/gm)?.sort()).toEqual([
      'Version: 0.38.1',
      'Version: 0.39.0',
      'Version: 1:2.0-1',
    ]);
    const record = parseHistory(await storeAt(prefix).get(historyKey('stable')), 'stable');
    expect(record.ok && record.record.entries.map((e) => e.command)).toEqual([
      'publish',
      'publish',
      'publish',
    ]);
  });

  it('a drivers rollback racing a publish: the publish commits first, the rollback stops without writing', async () => {
    const prefix = 'optimistic-drivers-rollback';
    const inputs = mkdtempSync(join(scratchRoot, 'drivers-rollback-race-'));
    try {
      const [v1, v2, v3] = ['1.0.0+driver', '2.0.0+driver', '3.0.0+driver'].map((v) =>
        driverVersionFolder(inputs, v, { count: 2 }),
      );
      await publish({ inputs: [v1!], store: storeAt(prefix), cfg });
      await publish({ inputs: [v2!], store: storeAt(prefix), cfg });
      const steps: string[] = [];
      // The rollback has recorded its generation and is about to write index.json; a publish lands first.
      const racing = rollback({
        store: new PauseBeforeWrite(storeAt(prefix), 'driver/site/index.json', () =>
          publish({ inputs: [v3!], store: storeAt(prefix), cfg }),
        ),
        cfg,
        record: 'drivers',
        progress: { onStep: (l) => steps.push(l) },
      });
      await expect(racing).rejects.toThrow(
        /drivers changed while the rollback ran: generation 3 .*publish.*nothing was rolled back. Look at `pkgpub drivers history`/,
      );
      const store = storeAt(prefix);
      expect(JSON.parse(new TextDecoder().decode(await store.get('driver/site/index.json')))).toEqual([
        '3.0.0+driver',
        '2.0.0+driver',
        '1.0.0+driver',
      ]);
      expect(await store.head('driver/site/2.0.0+driver.json')).toBeDefined();
      // The generation the rollback's first attempt recorded never committed: the publish corrected it away.
      const record = parseHistory(await store.get(historyKey('drivers')), 'drivers');
      expect(record.ok && record.record.entries.map((e) => e.command)).toEqual([
        'publish',
        'publish',
        'publish',
      ]);
    } finally {
      rmSync(inputs, { recursive: true, force: true });
    }
  });

  it('a prune of the dev channel racing a publish: the prune re-reads and decides on both', async () => {
    const prefix = 'optimistic-retention';
    const dev = resolveConfig({}, { channel: 'dev' });
    await publish({
      inputs: ['falco_0.38.1_amd64.deb', 'falco_0.38.2_amd64.deb', 'falco_0.39.0_amd64.deb'].map(deb),
      store: storeAt(prefix),
      cfg: dev,
      signer,
    });
    const steps: string[] = [];
    // The prune has decided on three versions and is about to commit; a fourth lands first.
    const pruned = await prune({
      store: new PauseBeforeWrite(storeAt(prefix), 'InRelease', () =>
        publish({ inputs: [deb('falco_0.39.0+git1-1_amd64.deb')], store: storeAt(prefix), cfg: dev, signer }),
      ),
      cfg: dev,
      signer,
      policy: { keep: 2, protect: [] },
      gcGraceMs: 3_600_000,
      progress: { onStep: (l) => steps.push(l) },
    });
    expect(steps.some((l) => /InRelease changed .*re-reading the target/.test(l))).toBe(true);
    expect(pruned.attempts).toBe(2);
    expect(pruned.report.decision.remove.map((r) => r.version.version)).toEqual(['0.38.2', '0.38.1']);
    const store = storeAt(prefix);
    const packages = new TextDecoder().decode(
      await store.get('packages/deb-dev/dists/stable/main/binary-amd64/Packages'),
    );
    expect(packages.match(/^Version: .*$/gm)?.sort()).toEqual(['Version: 0.39.0', 'Version: 0.39.0+git1-1']);
    const inRelease = new TextDecoder().decode(await store.get('packages/deb-dev/dists/stable/InRelease'));
    expect(inRelease).toContain(sha256Hex(new TextEncoder().encode(packages)));
    // The removed debs are held by the channel's history (the prune can be rolled back); the published one is there.
    expect(await store.head('packages/deb-dev/stable/falco_0.38.1_amd64.deb')).toBeDefined();
    expect(await store.head('packages/deb-dev/stable/falco_0.39.0+git1-1_amd64.deb')).toBeDefined();
    const history = JSON.parse(new TextDecoder().decode(await store.get(historyKey('dev'))));
    const newest = history.entries.at(-1);
    expect(newest.command).toBe('prune');
    expect(newest.dropped.apt).toContain('packages/deb-dev/stable/falco_0.38.1_amd64.deb');
    expect(newest.dropped.apt).toContain('packages/deb-dev/stable/falco_0.38.2_amd64.deb');
  });
});
