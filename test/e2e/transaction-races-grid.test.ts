import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { buildGrid, S3_GRID_DRIVERS } from '../support/build-grid.js';
import { killStrayProcesses } from '../support/cli-process.js';
import { s3Tree } from '../support/driver-tree.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { scratchRoot } from '../support/paths.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

// The build grid on the optimistic path: 16 publishers at once, 500 drivers each, one driver
// version, through the proxy that enforces If-Match / If-None-Match in front of s3rver (the
// scenario is in support/build-grid.ts; the lock path in transaction-races-grid-lock.test.ts).

let scratch: string;
let s3: S3rverHandle;
let proxy: FaultProxy;
beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-grid-'));
  s3 = await startS3rver();
  proxy = await startFaultProxy(s3.endpoint, { failureRate: 0, seed: 1, conditional: true });
});
afterEach(async () => {
  const killed = await killStrayProcesses();
  if (killed) console.log(`killed ${killed} CLI process(es) a failed test left running`);
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the build grid: many publishers adding drivers to one version at once', () => {
  it(`16 publishers × ${S3_GRID_DRIVERS} drivers through the conditional proxy (optimistic path)`, async () => {
    await buildGrid(
      {
        label: 'the conditional proxy',
        fresh: (name) => ({ to: `s3://${s3.bucket}/${name}`, tree: s3Tree(s3.endpoint, s3.bucket, name) }),
        publishFlags: ['--endpoint', proxy.endpoint, '--force-path-style'],
        env: {
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
          AWS_REGION: 'us-east-1',
        },
      },
      scratch,
      16,
      S3_GRID_DRIVERS,
      300_000,
    );
  }, 700_000);
});
