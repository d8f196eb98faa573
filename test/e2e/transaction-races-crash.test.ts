import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { killStrayProcesses } from '../support/cli-process.js';
import { folderTree } from '../support/driver-tree.js';
import { killedPublisherThenNext, NEXT_WITHIN_MS } from '../support/killed-publisher.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { scratchRoot } from '../support/paths.js';

// kill -9 of a publish into a folder does not block the next one (the scenario is in
// support/killed-publisher.ts; the s3rver variant in transaction-races-crash-s3.test.ts).

let scratch: string;
let key: TestKey;
beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-crash-'));
  key = await makeTestKey();
});
afterEach(async () => {
  const killed = await killStrayProcesses();
  if (killed) console.log(`killed ${killed} CLI process(es) a failed test left running`);
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (key) rmSync(key.dir, { recursive: true, force: true });
});

describe('kill -9 of a publish does not block the next one', () => {
  it(
    'into a folder',
    async () => {
      const root = mkdtempSync(join(scratch, 'public-'));
      const driverDir = join(root, 'driver', '5.0.0+driver', 'x86_64');
      await killedPublisherThenNext(
        {
          label: 'a folder',
          to: root,
          publishFlags: [],
          env: {},
          tree: folderTree(root),
          bigCount: 5_000,
          killAfter: 200,
          driverFilesWritten: async () => (await readdir(driverDir).catch(() => [])).length,
          aptBase: `file:${root}`,
        },
        scratch,
        key,
      );
    },
    NEXT_WITHIN_MS + 90_000,
  );
});
