import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { type CliResult, runCli, secs } from './cli-process.js';
import {
  driverNames,
  driverTreeProblems,
  getJson,
  listingNames,
  type TreeReader,
  writeDrivers,
} from './driver-tree.js';

// The build grid: N publishers (real CLI processes) at once, each adding its own drivers to ONE
// driver version, as a CI matrix building one driver per kernel does. Every one must succeed and
// every driver must end up in the version json, the version list and the folder listings.

export const GRID_VERSION = '9.9.9+driver';

/**
 * Drivers per publisher on an s3rver target. s3rver (one Node process, a file and a metadata file
 * per object) takes 25–40 s for 8,000 drivers from one publisher here, so CI runs the grids on
 * s3rver with 50 drivers per publisher; PKGPUB_GRID_DRIVERS=500 runs the full size.
 */
export const S3_GRID_DRIVERS = Number(process.env.PKGPUB_GRID_DRIVERS ?? 50);

export interface GridTarget {
  label: string;
  /** A target no one has published to yet; `name` keeps the grid's and the baseline's apart. */
  fresh(name: string): { to: string; tree: TreeReader };
  publishFlags: string[];
  env: Record<string, string>;
}

/** The last stderr line that is not one of the per-file `read` / `wrote` progress lines. */
const lastStep = (err: string) =>
  err
    .trim()
    .split('\n')
    .filter((l) => !/^(read|wrote) {2,}/.test(l))
    .at(-1) ?? '';

const archOf = (i: number) => (i % 2 === 0 ? 'x86_64' : 'aarch64');

export async function buildGrid(
  t: GridTarget,
  scratch: string,
  publishers: number,
  perPublisher: number,
  hardTimeoutMs: number,
): Promise<{ gridMs: number; oneMs: number }> {
  const total = publishers * perPublisher;
  const inputs = mkdtempSync(join(scratch, 'grid-in-'));
  const dirs: string[] = [];
  const want = new Map<string, string[]>([
    ['x86_64', []],
    ['aarch64', []],
  ]);
  for (let i = 0; i < publishers; i++) {
    const dir = join(inputs, `p${i}`);
    const names = driverNames(`g${i}`, perPublisher);
    writeDrivers(dir, GRID_VERSION, names, archOf(i));
    want.get(archOf(i))!.push(...names);
    dirs.push(dir);
  }

  const grid = t.fresh('grid');
  const t0 = performance.now();
  const runs = await Promise.all(
    dirs.map((dir) =>
      runCli(['publish', dir, '--to', grid.to, '--unsigned', ...t.publishFlags], {
        env: t.env,
        timeoutMs: hardTimeoutMs,
      }),
    ),
  );
  const gridMs = performance.now() - t0;

  // The same drivers in one publish, on a fresh target of the same kind.
  const one = t.fresh('one');
  const single = await runCli(['publish', ...dirs, '--to', one.to, '--unsigned', ...t.publishFlags], {
    env: t.env,
    timeoutMs: hardTimeoutMs,
  });
  const attempts = (r: CliResult) =>
    1 + r.err.split('\n').filter((l) => /re-reading the target/.test(l)).length;
  console.log(
    `grid: ${publishers} publishers × ${perPublisher} drivers on ${t.label} ${secs(gridMs)} s vs one publish of ${total} ${secs(single.ms)} s\n` +
      `  publishers: ${runs
        .map(
          (r, i) =>
            `#${i} exit ${r.code ?? r.signal}${r.timedOut ? ' (hard timeout)' : ''} ${secs(r.ms)} s ${attempts(r)} attempt(s)`,
        )
        .join('; ')}\n` +
      runs
        .filter((r) => r.code !== 0)
        .map(
          (r) =>
            `  a failed publisher's last step line: ${lastStep(r.err)}\n    its last lines: ${r.err.trim().split('\n').slice(-3).join(' | ')}`,
        )
        .join('\n'),
  );

  for (const [i, r] of runs.entries()) {
    expect(r.timedOut, `publisher #${i} hit the hard timeout`).toBe(false);
    expect(r.code, `publisher #${i} failed:\n${r.err.split('\n').slice(-5).join('\n')}`).toBe(0);
  }
  expect(single.code, single.err).toBe(0);

  for (const [tree, label] of [
    [grid.tree, 'the grid'],
    [one.tree, 'the single publish'],
  ] as const) {
    const state = await driverTreeProblems(tree);
    expect(state.problems, label).toEqual([]);
    expect(state.versions, label).toEqual([GRID_VERSION]);
    const doc = state.docs.get(GRID_VERSION) ?? [];
    expect(doc.length, `${label}: drivers in driver/site/${GRID_VERSION}.json`).toBe(total);
    expect(new Set(doc.map((d) => `${d.arch}/${d.name}`)).size, label).toBe(total);
    for (const [arch, names] of want) {
      expect(
        doc
          .filter((d) => d.arch === arch)
          .map((d) => d.name)
          .sort(),
        `${label}: ${arch} drivers in the version json`,
      ).toEqual([...names].sort());
      expect(
        (await listingNames(tree, `driver/${GRID_VERSION}/${arch}/`))?.sort(),
        `${label}: driver/${GRID_VERSION}/${arch}/listing.json`,
      ).toEqual([...names].sort());
    }
    expect((await listingNames(tree, `driver/${GRID_VERSION}/`))?.sort(), label).toEqual([
      'aarch64',
      'x86_64',
    ]);
    expect(await listingNames(tree, 'driver/'), label).toContain(GRID_VERSION);
    expect(await getJson<string[]>(tree, 'driver/site/index.json'), label).toEqual([GRID_VERSION]);
  }
  return { gridMs, oneMs: single.ms };
}
