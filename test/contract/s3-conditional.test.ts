import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '../../src/errors.js';
import { S3Store } from '../../src/storage/s3-store.js';
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
