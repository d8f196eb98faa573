import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { buildGrid } from '../support/build-grid.js';
import { killStrayProcesses } from '../support/cli-process.js';
import { folderTree } from '../support/driver-tree.js';
import { scratchRoot } from '../support/paths.js';

// The build grid on the lock path: 8 publishers at once, 500 drivers each, one driver version,
// into a folder (plain s3rver: transaction-races-grid-lock-s3.test.ts). See support/build-grid.ts.

let scratch: string;
beforeAll(() => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-grid-lock-'));
});
afterEach(async () => {
  const killed = await killStrayProcesses();
  if (killed) console.log(`killed ${killed} CLI process(es) a failed test left running`);
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the build grid: many publishers adding drivers to one version at once', () => {
  it('8 publishers × 500 drivers into a folder (lock path)', async () => {
    await buildGrid(
      {
        label: 'a folder',
        fresh: (name) => {
          const root = join(scratch, name);
          return { to: root, tree: folderTree(root) };
        },
        publishFlags: [],
        env: {},
      },
      scratch,
      8,
      500,
      100_000,
    );
  }, 240_000);
});
