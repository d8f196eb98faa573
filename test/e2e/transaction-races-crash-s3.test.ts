import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { killStrayProcesses } from '../support/cli-process.js';
import { s3Tree } from '../support/driver-tree.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { killedPublisherThenNext, NEXT_WITHIN_MS } from '../support/killed-publisher.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { scratchRoot } from '../support/paths.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

// kill -9 of a publish to plain s3rver (it ignores conditional writes, so publishers take the lock
// path) does not block the next one for more than a minute. The scenario is in
// support/killed-publisher.ts; the publishers go through a pass-through proxy that counts their requests.

const PREFIX = 'crash';
let scratch: string;
let key: TestKey;
let s3: S3rverHandle;
let proxy: FaultProxy;
beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-crash-s3-'));
  key = await makeTestKey();
  s3 = await startS3rver();
  proxy = await startFaultProxy(s3.endpoint, { failureRate: 0, seed: 1 });
});
afterEach(async () => {
  const killed = await killStrayProcesses();
  if (killed) console.log(`killed ${killed} CLI process(es) a failed test left running`);
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (key) rmSync(key.dir, { recursive: true, force: true });
});

describe('kill -9 of a publish does not block the next one', () => {
  it(
    'on plain s3rver (lock path)',
    async () => {
      const driverPut = new RegExp(`^PUT /${s3.bucket}/${PREFIX}/driver/5\\.0\\.0(\\+|%2B)driver/x86_64/`);
      await killedPublisherThenNext(
        {
          label: 'plain s3rver',
          to: `s3://${s3.bucket}/${PREFIX}`,
          publishFlags: ['--endpoint', proxy.endpoint, '--force-path-style'],
          env: {
            AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
            AWS_REGION: 'us-east-1',
          },
          tree: s3Tree(s3.endpoint, s3.bucket, PREFIX),
          bigCount: 1_500,
          killAfter: 100,
          driverFilesWritten: async () => proxy.requests.filter((r) => driverPut.test(r)).length,
          aptBase: `${s3.endpoint}/${s3.bucket}/${PREFIX}`,
        },
        scratch,
        key,
      );
    },
    NEXT_WITHIN_MS + 120_000,
  );
});
