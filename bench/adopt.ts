/**
 * `pkgpub adopt` of a tree holding 100,000 driver files and no driver index, from a listing (no
 * --hash: no driver is read).
 *
 *   npm run build && node dist/bench/adopt.js [--drivers 100000] [--flat 10000] [--keep]
 *
 * The tree is a folder (FsStore): one driver version, `--drivers` files in its x86_64/ folder plus
 * `--flat` more directly under the version folder (the oldest shape), sparse files of the right
 * size made before the clock starts. Each phase runs in a process of its own, so its peak RSS
 * (process.resourceUsage().maxRSS) is its own; the time is the whole transaction, apply included:
 *   adopt   the first adopt: list the tree, write the version json (~50 MB), index.json, the
 *           driver browser, and (root has no listing yet) every folder's listing from a listing
 *   again   adopting the adopted tree: reads the version json back, finds it complete, writes nothing
 * Target: under 10 s and 300 MB a phase. The CPU seconds are printed too: on a shared machine the
 * wall time says as much about the neighbours as about adopt. PKGPUB_DEBUG_TIMING=1 prints when each
 * step starts.
 */
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { adopt } from '../src/changes/adopt.js';
import { resolveConfig } from '../src/config/resolve.js';
import { generateKeyPair } from '../src/signing/generate-key.js';
import { loadSigner } from '../src/signing/load-key.js';
import { FsStore } from '../src/storage/fs-store.js';
import { emptyNodeRssMb, inOwnProcess, peakRssMb, phaseClock } from './phase.js';

interface Options {
  drivers: number;
  flat: number;
  keep: boolean;
  phase?: string;
  dir?: string;
}

function args(argv: string[]): Options {
  const o: Options = { drivers: 100_000, flat: 10_000, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') o.keep = true;
    else if (a === '--phase') o.phase = argv[++i];
    else if (a === '--dir') o.dir = argv[++i];
    else if (a === '--drivers') o.drivers = Number(argv[++i]);
    else if (a === '--flat') o.flat = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const cfg = resolveConfig({ project: 'falco', base_url: 'https://download.example.org' });
const VERSION = '7.0.0+driver';

/** A name in Falco's grammar, distinct for every i (targets, kernel releases and versions vary). */
function driverName(i: number): string {
  const kmod = i % 3 !== 0;
  const target = ['ubuntu-generic', 'amazonlinux2', 'debian', 'centos', 'flatcar'][i % 5]!;
  const kernelRelease = `5.${i % 20}.0-${Math.floor(i / 20)}-generic`;
  const kernelVersion = String(1 + (i % 150));
  return `falco_${target}_${kernelRelease}_${kernelVersion}.${kmod ? 'ko' : 'o'}`;
}

/** Sparse files: a listing sees names and sizes, and adopt without --hash reads nothing else. */
function makeTree(root: string, o: Options): void {
  const x86 = join(root, 'driver', VERSION, 'x86_64');
  mkdirSync(x86, { recursive: true });
  for (let i = 0; i < o.drivers + o.flat; i++) {
    const dir = i < o.drivers ? x86 : join(root, 'driver', VERSION);
    const fd = openSync(join(dir, driverName(i)), 'w');
    ftruncateSync(fd, 200_000 + ((i * 7919) % 4_000_000));
    closeSync(fd);
  }
}

async function runPhase(o: Options): Promise<void> {
  const store = new FsStore(o.dir!);
  const pair = await generateKeyPair({ name: 'bench', email: 'bench@example.invalid', type: 'ed25519' });
  const { signer } = await loadSigner({ keyArmored: pair.privateArmored });
  const { seconds: wall, cpu: cpuSeconds, mark } = phaseClock();
  let first = true;
  const res = await adopt({
    store,
    cfg,
    signer,
    gcGraceMs: 3_600_000,
    progress: {
      onStep: mark,
      onWrite: (k) => {
        if (first || k.endsWith('listing.json')) mark(`wrote ${k}`);
        first = false;
      },
    },
  });
  mark('done');
  const seconds = wall();
  const cpu = cpuSeconds();
  const v = res.report.drivers.versions;
  const writes = res.plan.tiers.reduce((n, x) => n + x.steps.length, 0);
  const detail = `${v.reduce((n, x) => n + x.files, 0)} drivers in ${v.length} version(s), ${v.reduce((n, x) => n + x.flat, 0)} flat; ${writes} writes, ${res.applied?.bytes ?? 0} bytes`;
  const maxRssMb = peakRssMb();
  console.log(JSON.stringify({ phase: o.phase, seconds, cpu, maxRssMb, detail }));
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  if (o.phase) return runPhase(o);
  const dir = mkdtempSync(join(tmpdir(), 'pkgpub-bench-adopt-'));
  const self = fileURLToPath(import.meta.url);
  const made = performance.now();
  makeTree(dir, o);
  console.log(
    `tree: ${o.drivers} driver files in ${VERSION}/x86_64 and ${o.flat} directly under ${VERSION}/, no index; in ${dir} (made in ${((performance.now() - made) / 1000).toFixed(1)} s, not timed)`,
  );
  console.log(`(an empty node process peaks at ${emptyNodeRssMb().toFixed(0)} MB RSS)`);
  const labels: Record<string, string> = {
    adopt: 'adopt: driver index, browser, every listing',
    again: 'adopt again: nothing to change',
  };
  let ok = true;
  try {
    for (const phase of ['adopt', 'again']) {
      const r = inOwnProcess<{ seconds: number; cpu: number; maxRssMb: number; detail: string }>(self, [
        ...['--phase', phase, '--dir', dir],
        ...['--drivers', String(o.drivers), '--flat', String(o.flat)],
      ]);
      const within = r.seconds < 10 && r.maxRssMb < 300;
      ok &&= within;
      console.log(
        `${labels[phase]!.padEnd(46)} ${r.seconds.toFixed(2).padStart(6)} s (${r.cpu.toFixed(2)} s cpu)  peak RSS ${r.maxRssMb.toFixed(0).padStart(4)} MB  ${within ? 'ok' : 'OVER TARGET'}  (${r.detail})`,
      );
    }
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
  console.log(ok ? 'both phases within 10 s and 300 MB' : 'some phase is over the target (10 s, 300 MB)');
  if (!ok) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
