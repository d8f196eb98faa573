import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { killStrayProcesses } from '../support/cli-process.js';
import { s3Tree } from '../support/driver-tree.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { scratchRoot } from '../support/paths.js';
import { type PruneRaceTarget, racePruneAndPublish } from '../support/prune-race.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

// `pkgpub drivers prune --keep 2 --apply` racing `pkgpub publish` on s3rver: plain (it ignores
// If-Match / If-None-Match, so publishers take the lock path; seen through a pass-through proxy,
// whose request log shows the prune's read of the version list) and behind the proxy that
// enforces them (the optimistic path). The race itself is in support/prune-race.ts.

/**
 * Fewer than on a folder: s3rver takes 7-13 s to take 1,000 uploads on this machine, and its
 * deletes are slower still (20,000 took over 10 minutes).
 */
const OLD_COUNT = 400;

let scratch: string;
let s3: S3rverHandle;
const proxies: FaultProxy[] = [];
/** Called with every request the target proxies forward (method, url). */
let onRequest: ((method: string, url: string) => void) | undefined;

beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-prune-s3-'));
  s3 = await startS3rver();
});
afterEach(async () => {
  onRequest = undefined;
  const killed = await killStrayProcesses();
  if (killed) console.log(`killed ${killed} CLI process(es) a failed test left running`);
});
afterAll(async () => {
  await killStrayProcesses();
  for (const p of proxies) await p.stop();
  await s3?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function s3Target(label: string, conditional: boolean, prefix: string): Promise<PruneRaceTarget> {
  const observe = (m: string, u: string) => {
    onRequest?.(m, u);
    return undefined;
  };
  const target = await startFaultProxy(s3.endpoint, { failureRate: 0, seed: 1, conditional, plan: observe });
  proxies.push(target);
  return {
    label,
    to: `s3://${s3.bucket}/${prefix}`,
    publishFlags: ['--endpoint', target.endpoint, '--force-path-style'],
    // prune takes the endpoint from the environment (it has no --endpoint flag today).
    env: {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      PKGPUB_S3_ENDPOINT: target.endpoint,
    },
    tree: s3Tree(s3.endpoint, s3.bucket, prefix),
    oldCount: OLD_COUNT,
    watchStateRead: async () => {
      const wanted = `/${s3.bucket}/${prefix}/driver/site/index.json`;
      const seen = new Promise<'read'>((resolve) => {
        onRequest = (m, u) => {
          if (m === 'GET' && u.split('?')[0] === wanted) {
            onRequest = undefined;
            resolve('read');
          }
        };
      });
      return () => seen;
    },
  };
}

describe('drivers prune --apply racing a publish loses nothing', () => {
  it('on plain s3rver (it ignores conditional writes: the lock path)', async () => {
    await racePruneAndPublish(await s3Target('plain s3rver', false, 'prune-lock'), scratch);
  }, 180_000);

  it('on s3rver behind a proxy enforcing If-Match / If-None-Match (the optimistic path)', async () => {
    await racePruneAndPublish(await s3Target('the conditional proxy', true, 'prune-cond'), scratch);
  }, 180_000);
});
