import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { ConflictError } from '../../src/errors.js';
import { publishLocked } from '../../src/publish/publish-locked.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { ForwardingStore } from '../../src/storage/forwarding-store.js';
import type { Body, ObjectInfo, PutOptions } from '../../src/storage/object-store.js';
import { S3Store } from '../../src/storage/s3-store.js';
import { makeTestKey } from '../support/keys.js';
import { fixturesDir } from '../support/paths.js';
import { type Fault, type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
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
  new S3Store({
    bucket: server.bucket,
    prefix,
    endpoint: proxy.endpoint,
    credentials: server.credentials,
    retry: { baseDelayMs: 5 },
  });

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
  it('sends If-None-Match: * / If-Match and turns 412 into ConflictError', async () => {
    const store = storeAt('cond-headers');
    const before = proxy.requests.length;
    const first = await store.put('Release', { bytes: new TextEncoder().encode('r1') }, { ifMatch: '' });
    await expect(
      store.put(
        'Release',
        { bytes: new TextEncoder().encode('r2') },
        { ifMatch: 'ffffffffffffffffffffffffffffffff' },
      ),
    ).rejects.toThrow(ConflictError);
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
    ).rejects.toThrow(ConflictError);
  });
});

/** Runs `before` once, just ahead of the first write of a key ending in `suffix`. */
class PauseBeforeWrite extends ForwardingStore {
  #armed = true;
  constructor(
    inner: S3Store,
    private readonly suffix: string,
    private readonly before: () => Promise<unknown>,
  ) {
    super(inner);
  }
  override async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (this.#armed && key.endsWith(this.suffix)) {
      this.#armed = false;
      await this.before();
    }
    return this.inner.put(key, body, opts);
  }
}

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
      publishLocked({
        inputs: [deb('epochpkg_2.0-1_amd64.deb'), rpm('falcoctl-1.0~rc1-2.el9.noarch.rpm')],
        store: storeAt(prefix),
        cfg,
        signer,
      });
    const a = await publishLocked({
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

  it('a conflict on a listing after the pointers committed still ends with both in the listing', async () => {
    const prefix = 'optimistic-listing';
    const steps: string[] = [];
    const b = () =>
      publishLocked({ inputs: [deb('epochpkg_2.0-1_amd64.deb')], store: storeAt(prefix), cfg, signer });
    // The pool folder already has a listing.json, which both publishers read and extend.
    await publishLocked({ inputs: [deb('falco_0.39.0_amd64.deb')], store: storeAt(prefix), cfg, signer });
    // A's repository commit is complete; B publishes before A writes the pool folder's listing.
    await publishLocked({
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

  // 10 rounds, five per test so that none comes near its timeout on a busy machine.
  it.each([0, 5])(
    'two publishers started together keep every package (rounds %i+0..4 of 10)',
    async (first) => {
      for (let round = first; round < first + 5; round++) {
        const prefix = `optimistic-race${round}`;
        await Promise.all([
          publishLocked({
            inputs: [deb('falco_0.38.1_amd64.deb'), rpm('falco-0.39.0-1.x86_64.rpm')],
            store: storeAt(prefix),
            cfg,
            signer,
          }),
          publishLocked({
            inputs: [deb('epochpkg_2.0-1_amd64.deb'), rpm('falcoctl-1.0~rc1-2.el9.noarch.rpm')],
            store: storeAt(prefix),
            cfg,
            signer,
          }),
        ]);
        const packages = await packagesOf(storeAt(prefix));
        expect(packages, `round ${round}`).toContain('Package: falco\n');
        expect(packages, `round ${round}`).toContain('Package: epochpkg\n');
        expect(await primaryNames(storeAt(prefix)), `round ${round}`).toEqual(['falco', 'falcoctl']);
      }
    },
  );
});
