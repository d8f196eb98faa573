import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killStrayProcesses, pollUntil } from '../support/cli-process.js';
import { folderTree } from '../support/driver-tree.js';
import { scratchRoot } from '../support/paths.js';
import { racePruneAndPublish } from '../support/prune-race.js';

// `pkgpub drivers prune --keep 2 --apply` racing `pkgpub publish` into a folder (lock path); the
// s3 targets are in transaction-races-prune-s3.test.ts, the race itself in support/prune-race.ts.

let scratch: string;
beforeAll(() => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-prune-'));
});
afterEach(async () => {
  const killed = await killStrayProcesses();
  if (killed) console.log(`killed ${killed} CLI process(es) a failed test left running`);
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Whether reading a file whose atime is older than its mtime updates the atime here (relatime does). */
async function atimeShowsReads(dir: string): Promise<boolean> {
  const f = join(dir, 'atime-probe');
  await writeFile(f, 'probe');
  const { mtime } = await stat(f);
  await utimes(f, new Date(0), mtime);
  await readFile(f);
  return (await stat(f)).atimeMs > 1e12;
}

describe('drivers prune --apply racing a publish loses nothing', () => {
  it('on a folder (20,000 drivers in the pruned version)', async () => {
    // The prune's read of driver/site/index.json shows in its atime once the atime is set before
    // the mtime (relatime, the Linux default, then updates it on the next read; so does strictatime).
    expect(await atimeShowsReads(scratch), 'atime does not show reads here (noatime mount?)').toBe(true);
    const root = mkdtempSync(join(scratch, 'public-'));
    const indexJson = join(root, 'driver', 'site', 'index.json');
    await racePruneAndPublish(
      {
        label: 'a folder',
        to: root,
        publishFlags: [],
        env: {},
        tree: folderTree(root),
        oldCount: 3_000,
        watchStateRead: async () => {
          const { mtime } = await stat(indexJson);
          await utimes(indexJson, new Date(0), mtime);
          const armed = await stat(indexJson);
          return async () =>
            (await pollUntil(
              async () => {
                const now = await stat(indexJson).catch(() => undefined);
                if (!now || now.ino !== armed.ino) return 'replaced' as const;
                return now.atimeMs !== armed.atimeMs ? ('read' as const) : undefined;
              },
              60_000,
              2,
            )) ?? 'replaced';
        },
      },
      scratch,
    );
  }, 180_000);
});
