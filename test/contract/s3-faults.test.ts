import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store } from '../../src/storage/s3-store.js';
import { type FaultProxy, seededRandom, startFaultProxy } from '../support/fault-proxy.js';
import { scratchRoot } from '../support/paths.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('S3Store through a proxy that fails 10% of requests', () => {
  let server: S3rverHandle;
  let proxy: FaultProxy;
  let tmp: string;
  beforeAll(async () => {
    server = await startS3rver();
    proxy = await startFaultProxy(server.endpoint, { failureRate: 0.1, seed: 20240611 });
    tmp = await mkdtemp(join(scratchRoot, 's3-faults-'));
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('puts, gets, lists and deletes with the right bytes despite 503s, 500s, resets and cut replies', async () => {
    const store = new S3Store({
      bucket: server.bucket,
      prefix: 'faults',
      endpoint: proxy.endpoint,
      credentials: server.credentials,
      concurrency: 4,
      retry: { maxAttempts: 8, baseDelayMs: 5, maxDelayMs: 100 },
    });
    const rand = seededRandom(7);
    const objects = new Map<string, Uint8Array>();
    for (let i = 0; i < 80; i++)
      objects.set(`pkgs/${i % 4}/obj-${i}.bin`, randomBytes(Math.floor(rand() * 200_000)));
    objects.set('driver/7.0.0+driver/x86_64/falco_x_1.ko', randomBytes(5000));
    const keys = [...objects.keys()];

    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < keys.length) {
          const k = keys[next++]!;
          const body = objects.get(k)!;
          await store.put(
            k,
            { bytes: body },
            { sha256: sha256(body), contentType: 'application/octet-stream' },
          );
        }
      }),
    );
    const bigFile = join(tmp, 'big.bin');
    const big = randomBytes(20 * 1024 * 1024 + 7);
    await writeFile(bigFile, big);
    await store.put('blobs/big.bin', { file: bigFile, size: big.length }, { sha256: sha256(big) });
    objects.set('blobs/big.bin', big);

    for (const [k, body] of objects) {
      const got = await store.get(k);
      expect(got && sha256(got), k).toBe(sha256(body));
      expect((await store.head(k))?.sha256, k).toBe(sha256(body));
    }
    const listed: string[] = [];
    for await (const o of store.list('')) listed.push(o.key);
    expect(listed.sort()).toEqual([...objects.keys()].sort());

    // The server itself holds the right bytes, not only what the proxy let through.
    const direct = await fetch(
      `${server.endpoint}/${server.bucket}/faults/driver/7.0.0%2Bdriver/x86_64/falco_x_1.ko`,
    );
    expect(sha256(new Uint8Array(await direct.arrayBuffer()))).toBe(
      sha256(objects.get('driver/7.0.0+driver/x86_64/falco_x_1.ko')!),
    );

    await store.delete([...objects.keys()]);
    const left: string[] = [];
    for await (const o of store.list('')) left.push(o.key);
    expect(left).toEqual([]);

    // The faults really happened, every kind of them, and the SDK sent '+' as %2B.
    for (const [kind, count] of Object.entries(proxy.injected)) expect(count, kind).toBeGreaterThan(0);
    expect(proxy.requests.some((r) => r.includes('/faults/driver/7.0.0%2Bdriver/'))).toBe(true);
    expect(proxy.requests.some((r) => r.includes('7.0.0+driver'))).toBe(false);
    expect(proxy.requests.some((r) => r.startsWith('PUT') && r.includes('uploadId='))).toBe(true);
  }, 180_000);
});
