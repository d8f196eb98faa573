import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { aptProblems, aptVersions, makeAptRoot } from './apt.js';
import { pollUntil, runCli, secs, startCli } from './cli-process.js';
import { driverNames, driverTreeProblems, type TreeReader, writeDrivers } from './driver-tree.js';
import type { TestKey } from './keys.js';
import { fixturesDir } from './paths.js';

// A publish killed with SIGKILL while it writes (its lock taken, driver files going up) must not
// keep the next publish waiting: that one has to finish within a minute, leave no lock behind, and
// leave a tree whose indexes name its packages (apt, with signatures checked, reads it).

export const LOCK = '.pkgpub-lock.json';
const BIG = '5.0.0+driver';
const NEXT = '6.0.0+driver';
/** The second publish must be done within this. */
export const NEXT_WITHIN_MS = 60_000;

export interface KilledPublisherTarget {
  label: string;
  to: string;
  publishFlags: string[];
  env: Record<string, string>;
  tree: TreeReader;
  /** Drivers in the publish that gets killed: enough to keep it writing for seconds. */
  bigCount: number;
  /** How many of its driver files the killed publish has written so far. */
  driverFilesWritten(): Promise<number>;
  /** Kill once this many are written (and the lock is there). */
  killAfter: number;
  /** The URL apt reads packages/deb from. */
  aptBase: string;
}

export async function killedPublisherThenNext(t: KilledPublisherTarget, scratch: string, key: TestKey) {
  const inputs = mkdtempSync(join(scratch, 'in-'));
  const big = join(inputs, 'big');
  const next = join(inputs, 'next');
  writeDrivers(big, BIG, driverNames('big', t.bigCount));
  writeDrivers(next, NEXT, driverNames('next', 3));
  const deb = (n: string) => join(fixturesDir, 'deb', n);
  const signing = ['--signing-key', key.secretFile];

  // 1. A publish of two debs and many drivers, killed with SIGKILL once it holds the lock and its
  //    driver files are going up.
  const first = startCli(
    [
      'publish',
      deb('falco_0.38.1_amd64.deb'),
      deb('falco_0.38.2_amd64.deb'),
      big,
      '--to',
      t.to,
      ...signing,
      ...t.publishFlags,
    ],
    { env: t.env, timeoutMs: 150_000 },
  );
  const seen = await pollUntil(
    async () => {
      if (!first.running()) return 'exited' as const;
      if ((await t.tree.get(LOCK)) === undefined) return undefined;
      return (await t.driverFilesWritten()) >= t.killAfter ? ('writing' as const) : undefined;
    },
    120_000,
    20,
  );
  const lockAtKill = (await t.tree.get(LOCK))?.toString('utf8');
  const writtenAtKill = await t.driverFilesWritten();
  first.kill('SIGKILL');
  const killed = await first.done;
  console.log(
    `kill -9 on ${t.label}: killed after ${secs(killed.ms)} s (${seen ?? 'timed out waiting'}), ` +
      `${writtenAtKill} of ${t.bigCount} driver files written, lock at kill: ${lockAtKill ?? 'none'}`,
  );
  expect(seen, `the first publish ended before it could be killed:\n${killed.err}`).toBe('writing');
  expect(killed.signal).toBe('SIGKILL');
  expect(lockAtKill, 'the killed publish held the lock').toBeDefined();
  expect(writtenAtKill).toBeLessThan(t.bigCount);

  // 2. Another publish of other artifacts: done within a minute, or killed by its hard timeout.
  const second = await runCli(
    [
      'publish',
      deb('epochpkg_2.0-1_amd64.deb'),
      deb('falco_0.39.0_amd64.deb'),
      next,
      '--to',
      t.to,
      ...signing,
      ...t.publishFlags,
    ],
    { env: t.env, timeoutMs: NEXT_WITHIN_MS + 15_000 },
  );
  const lockAfter = (await t.tree.get(LOCK))?.toString('utf8');
  console.log(
    `kill -9 on ${t.label}: the next publish exited ${second.code ?? second.signal} after ${secs(second.ms)} s` +
      `${second.timedOut ? ' (killed by the hard timeout)' : ''}; lock afterwards: ${lockAfter ?? 'none'}\n` +
      `its stderr ends:\n${second.err.split('\n').slice(-6).join('\n')}`,
  );
  expect(second.timedOut, 'the next publish was still waiting at the hard timeout').toBe(false);
  expect(second.code, second.err).toBe(0);
  expect(second.ms).toBeLessThan(NEXT_WITHIN_MS);
  expect(lockAfter, `${LOCK} left behind`).toBeUndefined();

  // 3. The tree is readable and names the second publish's packages.
  const apt = await makeAptRoot(`deb [signed-by=${key.publicFile}] ${t.aptBase}/packages/deb stable main`);
  try {
    const up = await apt.apt('apt-get', ['update']);
    expect(aptProblems(up.out), up.out).toEqual([]);
    expect(up.code, up.out).toBe(0);
    expect(await aptVersions(apt, 'epochpkg')).toEqual(['1:2.0-1']);
    expect(await aptVersions(apt, 'falco')).toContain('0.39.0');
  } finally {
    await rm(apt.dir, { recursive: true, force: true });
  }
  const drivers = await driverTreeProblems(t.tree);
  expect(drivers.problems).toEqual([]);
  expect(drivers.versions).toContain(NEXT);
  expect(
    drivers.docs
      .get(NEXT)
      ?.map((d) => d.name)
      .sort(),
  ).toEqual(driverNames('next', 3).sort());
}
