import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { runCli, secs, startCli } from './cli-process.js';
import {
  driverNames,
  driverTreeProblems,
  listingNames,
  type TreeReader,
  writeDrivers,
} from './driver-tree.js';

// `pkgpub drivers prune --apply` racing a `pkgpub publish`, both real processes of the built CLI.
// The prune reads driver/site/index.json, lists and deletes a big old version, and rewrites
// index.json and the driver/ listing without it; the publish adds 4.0.0+driver meanwhile. Whatever
// order they end up in, the publish must not be lost and no listed version may point at deleted files.
//
// The interleaving is made, not hoped for: the moment the target is seen serving index.json to
// the prune, the prune is stopped (SIGSTOP, as a preempted or paused runner is), the publish runs,
// and the prune goes on (SIGCONT) once the publish has exited or HOLD_MS have passed, whichever
// comes first (a publish that waits for the prune's lock would otherwise wait for ever). Left to
// timing alone, today's code lost the publish in only 2 of 4 runs on a folder: the prune's
// read-to-write window is about half a second there, one CLI start.

/** The longest the prune stays stopped: far below any lock lease, far above a small publish. */
const HOLD_MS = 6_000;

export const OLD = '1.0.0+driver';
export const KEPT = ['3.0.0+driver', '2.0.0+driver'];
export const NEW = '4.0.0+driver';
const ALL = [NEW, ...KEPT, OLD];

export interface PruneRaceTarget {
  label: string;
  to: string;
  /** Flags for the publish (the S3 ones: --endpoint, --force-path-style). */
  publishFlags: string[];
  env: Record<string, string>;
  tree: TreeReader;
  /** Drivers in the old version: enough that the prune lists and deletes for seconds. */
  oldCount: number;
  /**
   * Arms a watch on the target; the function it returns resolves with 'read' once the target is
   * seen serving driver/site/index.json (the prune's state read: nothing else runs then), or
   * 'replaced' if index.json was rewritten before any read was seen.
   */
  watchStateRead(): Promise<() => Promise<'read' | 'replaced'>>;
}

/**
 * Publishes 1.0.0 (big), 2.0.0 and 3.0.0 (3 drivers each); starts `drivers prune --keep 2
 * --apply`; once the prune has read the version list, stops it and runs a publish of 4.0.0 (3
 * drivers), then lets the prune go on; then judges the tree both leave behind.
 */
export async function racePruneAndPublish(t: PruneRaceTarget, scratch: string): Promise<void> {
  const inputs = mkdtempSync(join(scratch, 'in-'));
  const old = join(inputs, 'old');
  const small = join(inputs, 'small');
  const add = join(inputs, 'add');
  let t0 = performance.now();
  writeDrivers(old, OLD, driverNames('old', t.oldCount));
  for (const v of KEPT) writeDrivers(small, v, driverNames('k', 3));
  writeDrivers(add, NEW, driverNames('new', 3));
  // The race is about what the prune deletes: with no earlier generation kept, it deletes the old
  // version at once instead of holding it in the driver tree's history.
  const config = join(inputs, 'pkgpub.yaml');
  writeFileSync(config, 'rollback:\n  generations: 0\n');
  const generated = performance.now() - t0;
  t0 = performance.now();
  const setup = await runCli(
    ['publish', old, small, '--to', t.to, '--config', config, '--unsigned', ...t.publishFlags],
    {
      env: t.env,
      timeoutMs: 150_000,
    },
  );
  expect(setup.code, setup.err).toBe(0);
  const setupMs = performance.now() - t0;
  const before = await driverTreeProblems(t.tree);
  expect(before.problems).toEqual([]);
  expect(before.versions).toEqual([...KEPT, OLD]);
  expect(before.docs.get(OLD)).toHaveLength(t.oldCount);

  const stateRead = await t.watchStateRead();
  const prune = startCli(['drivers', 'prune', '--keep', '2', '--apply', '--to', t.to, '--config', config], {
    env: t.env,
    timeoutMs: 150_000,
  });
  const trigger = await Promise.race([stateRead(), prune.done.then(() => 'prune exited first' as const)]);
  const stoppedAt = performance.now();
  if (prune.running()) prune.kill('SIGSTOP');
  const publish = startCli(
    ['publish', add, '--to', t.to, '--config', config, '--unsigned', ...t.publishFlags],
    {
      env: t.env,
      timeoutMs: 150_000,
    },
  );
  const publishEnded = await Promise.race([publish.done.then(() => true), sleep(HOLD_MS).then(() => false)]);
  const heldMs = performance.now() - stoppedAt;
  if (prune.running()) prune.kill('SIGCONT');
  const [pr, pu] = await Promise.all([prune.done, publish.done]);
  const after = await driverTreeProblems(t.tree);
  const dirs = (await listingNames(t.tree, 'driver/')) ?? [];
  const page = (await t.tree.get('driver/index.html'))?.toString('utf8') ?? '';
  console.log(
    `prune race on ${t.label}: ${t.oldCount} old drivers generated in ${secs(generated)} s, published in ${secs(setupMs)} s; ` +
      `prune stopped ${secs(stoppedAt - prune.startedAt)} s after its start (trigger: ${trigger}) for ${secs(heldMs)} s ` +
      `(${publishEnded ? 'until the publish exited' : 'the publish still running'}); prune exit ${pr.code ?? pr.signal} after ${secs(pr.ms)} s, ` +
      `publish exit ${pu.code ?? pu.signal} after ${secs(pu.ms)} s; ` +
      `index.json ${JSON.stringify(after.versions)}; driver/listing.json ${JSON.stringify(dirs)}; problems ${JSON.stringify(after.problems)}`,
  );

  // The race really was one: the publish started once the prune had read the version list, and
  // before the prune had finished.
  expect(trigger).toBe('read');
  expect(publish.startedAt).toBeLessThan(pr.endedAt);
  expect(pr.timedOut || pu.timedOut, 'a CLI process hit its hard timeout').toBe(false);
  expect(pr.code, `prune failed:\n${pr.err}`).toBe(0);
  expect(pu.code, `publish failed:\n${pu.err}`).toBe(0);

  // The publish is never lost. keep=2 after it: 4.0.0 and 3.0.0 kept, 2.0.0 kept only if the
  // prune went first (then 3.0.0 and 2.0.0 were the newest two); 1.0.0 goes in either order.
  expect([
    [NEW, ...KEPT],
    [NEW, KEPT[0]],
  ]).toContainEqual(after.versions);
  expect(after.problems).toEqual([]);
  expect(
    after.docs
      .get(NEW)
      ?.map((d) => d.name)
      .sort(),
  ).toEqual(driverNames('new', 3).sort());
  // A version no longer listed is gone for good: no json, no files left behind.
  for (const v of ALL.filter((x) => !after.versions.includes(x))) {
    expect(await t.tree.get(`driver/site/${v}.json`), `driver/site/${v}.json`).toBeUndefined();
    expect([...(await t.tree.sizes(`driver/${v}/`)).keys()], `files of ${v}`).toEqual([]);
  }
  // The driver/ folder's listing (json and page) names exactly the listed versions, and site/.
  expect(dirs.filter((n) => n !== 'site').sort()).toEqual([...after.versions].sort());
  expect(dirs).toContain('site');
  for (const v of after.versions) expect(page).toContain(v);
  for (const v of ALL.filter((x) => !after.versions.includes(x))) {
    expect(page).not.toContain(v);
    expect(page).not.toContain(v.replace('+', '%2B'));
  }
  expect((await listingNames(t.tree, `driver/${NEW}/x86_64/`))?.sort()).toEqual(driverNames('new', 3).sort());
}
