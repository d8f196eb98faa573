/**
 * Listings and driver indexes for a big tree: 100,000 driver files in one driver version (all in
 * one arch folder by default: the worst case for a listing) and 2,000 packages with signatures.
 *
 *   npm run build && node dist/bench/site.js [--drivers 100000] [--packages 2000] [--arches 1] [--keep]
 *
 * Each phase runs in a process of its own, as a real `pkgpub` run would, so its peak RSS is its
 * own (process.resourceUsage().maxRSS):
 *   first    the first publish: driver index and browser, and every folder's listing
 *   add      one more driver in the full version: reads back that version's index and the big
 *            folder's listing.json, re-renders only the touched folders
 *   rebuild  `pkgpub site rebuild`: one listing of the whole tree, every folder rendered
 * The tree is a folder (FsStore); driver and package files are sparse files of the right size,
 * created before the clock starts. Target: under 5 s and 300 MB a phase. PKGPUB_DEBUG_MEMORY=1
 * prints process.memoryUsage() after each step of the first and add phases.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { DriverArtifact } from '../src/artifacts/types.js';
import { resolveConfig } from '../src/config/resolve.js';
import { driversSection } from '../src/repos/drivers/drivers-section.js';
import { SignatureDigests } from '../src/repos/sign-outputs.js';
import { makePlan } from '../src/model/plan.js';
import { Spill } from '../src/transaction/spill.js';
import type { OutputFile } from '../src/model/tiers.js';
import { buildListings, type ListingOutputs, rebuildAllListings } from '../src/site/build-site.js';
import { FsStore } from '../src/storage/fs-store.js';
import { putOutput } from '../src/transaction/apply.js';

interface Options {
  drivers: number;
  packages: number;
  arches: number;
  keep: boolean;
  phase?: string;
  dir?: string;
}

function args(argv: string[]): Options {
  const o: Options = { drivers: 100_000, packages: 2_000, arches: 1, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') o.keep = true;
    else if (a === '--phase') o.phase = argv[++i];
    else if (a === '--dir') o.dir = argv[++i];
    else if (a === '--drivers') o.drivers = Number(argv[++i]);
    else if (a === '--packages') o.packages = Number(argv[++i]);
    else if (a === '--arches') o.arches = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const cfg = resolveConfig({ project: 'falco', base_url: 'https://download.example.org' });
const VERSION = '7.0.0+driver';

function hex(n: number): string {
  return n.toString(16).padStart(64, '0');
}

/**
 * A driver artifact shaped as readDriver makes it (sha256 only, one string for sha256 and
 * digests.sha256, no signature digest), then passed through a structured clone as the worker pool's
 * postMessage does: that is what a publish holds for each driver (the clone copies every string).
 */
function driver(i: number, arch: string): DriverArtifact {
  const kmod = i % 3 !== 0;
  const target = ['ubuntu-generic', 'amazonlinux2', 'debian', 'centos', 'flatcar'][i % 5]!;
  const kernelRelease = `5.${i % 20}.0-${Math.floor(i / 20)}-generic`;
  const kernelVersion = String(1 + (i % 150));
  const fileName = `falco_${target}_${kernelRelease}_${kernelVersion}.${kmod ? 'ko' : 'o'}`;
  const size = 200_000 + ((i * 7919) % 4_000_000);
  const sha256 = hex(i + 1);
  return structuredClone({
    kind: 'driver',
    path: `/synthetic/${fileName}`,
    fileName,
    name: 'falco',
    version: VERSION,
    arch,
    size,
    sha256,
    digests: { size, sha256 },
    driverKind: kmod ? 'kmod' : 'ebpf',
    target,
    kernelRelease,
    kernelVersion,
    driverVersion: VERSION,
  } satisfies DriverArtifact);
}

function blob(key: string, size: number, n: number): OutputFile {
  return {
    key,
    tier: 'blob',
    body: { file: '/dev/null', size },
    sha256: hex(1e9 + n),
    size,
    contentType: 'application/octet-stream',
  };
}

/** Blobs as sparse files of the right size: the listing cares about names and sizes, not bytes. */
function placeBlobs(root: string, files: OutputFile[]): void {
  const made = new Set<string>();
  for (const f of files) {
    const path = join(root, ...f.key.split('/'));
    const dir = dirname(path);
    if (!made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    const fd = openSync(path, 'w');
    ftruncateSync(fd, f.size);
    closeSync(fd);
  }
}

/**
 * With PKGPUB_DEBUG_MEMORY set, where memory stands after each step of a phase (on stderr: the
 * phase's result stays the one line on stdout). Old-generation garbage shows as heap used.
 */
function memoryStep(step: string): void {
  if (!process.env.PKGPUB_DEBUG_MEMORY) return;
  const m = process.memoryUsage();
  const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
  console.error(
    `[memory] ${step}: rss ${mb(m.rss)}, heap ${mb(m.heapUsed)} used of ${mb(m.heapTotal)}, array buffers ${mb(m.arrayBuffers)}`,
  );
}

/** What apply would write: every generated file (blobs are placed by placeBlobs), then the deletes. */
async function write(store: FsStore, files: OutputFile[], out: ListingOutputs): Promise<void> {
  for (const f of files) if (f.tier !== 'blob') await putOutput(store, f);
  for (const f of out.files) await putOutput(store, f);
  await store.delete(out.deletes);
}

/**
 * The publish path for drivers: the drivers section, each output spilled as publish() does, listings
 * built before anything is written (plan, then apply), then the writes. Returns the listing
 * outputs and the peak RSS right after the driver index.
 */
async function publishDrivers(
  root: string,
  store: FsStore,
  drivers: DriverArtifact[],
  extra: OutputFile[],
  now: Date,
  timed: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<{ out: ListingOutputs; afterDrivers: number }> {
  const spill = new Spill();
  try {
    const outputs = await timed(async () => {
      // The array is the caller's; publish() lets go of the read artifacts once sections are built.
      const ctx = {
        store,
        cfg,
        now,
        force: false,
        open: spill.open,
        rpms: { sign: false, resign: false },
        step: () => {},
      };
      const mine = drivers.splice(0);
      const input = {
        artifacts: mine,
        rpmHeaders: [],
        removals: [],
        digests: new SignatureDigests(undefined),
      };
      const d = await driversSection.build(ctx, await driversSection.readState(ctx, mine), mine, input);
      await spill.files(d.outputs);
      return [...d.outputs, ...extra];
    });
    memoryStep('driver index built');
    const afterDrivers = process.resourceUsage().maxRSS / 1024;
    const out = await timed(() =>
      buildListings({ store, cfg, plan: makePlan(outputs, new Map(), []), now, open: spill.open }),
    );
    memoryStep('listings rendered');
    placeBlobs(
      root,
      outputs.filter((f) => f.tier === 'blob'),
    );
    await write(store, outputs, out);
    memoryStep('written');
    return { out, afterDrivers };
  } finally {
    await spill.cleanup();
  }
}

async function runPhase(o: Options): Promise<void> {
  const root = o.dir!;
  const store = new FsStore(root);
  const arches = ['x86_64', 'aarch64'].slice(0, Math.max(1, o.arches));
  let seconds = 0;
  let detail = '';
  const timed = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const r = await fn();
    seconds += (performance.now() - t) / 1000;
    return r;
  };
  if (o.phase === 'first') {
    const drivers = Array.from({ length: o.drivers }, (_, i) => driver(i, arches[i % arches.length]!));
    const pkgs: OutputFile[] = [];
    for (let i = 0; i < o.packages; i++) {
      const key =
        i % 2 === 0
          ? `${cfg.prefixes.deb}/stable/pkg${i}_1.0.${i}_amd64.deb`
          : `${cfg.prefixes.rpm}/pkg${i}-1.0.${i}-1.x86_64.rpm`;
      pkgs.push(blob(key, 50_000 + i * 13, i), blob(`${key}.asc`, 228, 100_000 + i));
    }
    const done = await publishDrivers(root, store, drivers, pkgs, new Date('2024-06-01T12:00:00Z'), timed);
    detail = `peak ${done.afterDrivers.toFixed(0)} MB after the driver index; ${done.out.folders.length} folders, ${done.out.files.filter((f) => f.key.endsWith('.html')).length} pages`;
  } else if (o.phase === 'add') {
    const extra = driver(o.drivers + 1, arches[0]!);
    const done = await publishDrivers(root, store, [extra], [], new Date('2024-06-02T12:00:00Z'), timed);
    detail = `peak ${done.afterDrivers.toFixed(0)} MB after the driver index; re-rendered ${done.out.folders.map((f) => f || '(root)').join(', ')}`;
  } else if (o.phase === 'listings-first') {
    // The listing builder alone on the same outputs, into an empty tree (no driver index work).
    const blobs = Array.from({ length: o.drivers }, (_, i) => {
      const d = driver(i, arches[i % arches.length]!);
      return blob(`${cfg.prefixes.driver}/${VERSION}/${d.arch}/${d.fileName}`, d.size, i);
    });
    for (let i = 0; i < o.packages; i++)
      blobs.push(blob(`${cfg.prefixes.deb}/stable/pkg${i}_1.0_amd64.deb`, 50_000 + i, 2e6 + i));
    const empty = new FsStore(join(root, '..', `${root.split('/').pop()}-empty`));
    const spill = new Spill();
    const out = await timed(() =>
      buildListings({
        store: empty,
        cfg,
        plan: makePlan(blobs, new Map(), []),
        now: new Date('2024-06-01T12:00:00Z'),
        open: spill.open,
      }),
    ).finally(() => spill.cleanup());
    detail = `${out.folders.length} folders, ${out.files.filter((f) => f.key.endsWith('.html')).length} pages`;
  } else if (o.phase === 'listings-add') {
    // The listing builder alone for one more driver: reads back the 100k-entry listing.json.
    const d = driver(o.drivers + 2, arches[0]!);
    const one = [blob(`${cfg.prefixes.driver}/${VERSION}/${d.arch}/${d.fileName}`, d.size, 3e6)];
    const spill = new Spill();
    const out = await timed(() =>
      buildListings({
        store,
        cfg,
        plan: makePlan(one, new Map(), []),
        now: new Date(),
        open: spill.open,
      }),
    ).finally(() => spill.cleanup());
    detail = `re-rendered ${out.folders.length} folders`;
  } else if (o.phase === 'list') {
    let n = 0;
    await timed(async () => {
      for await (const _ of store.list('')) n++;
    });
    detail = `${n} objects (FsStore.list alone, the first step of a rebuild)`;
  } else if (o.phase === 'rebuild') {
    const out = await timed(() => rebuildAllListings(store, cfg, new Date()));
    detail = `${out.folders.length} folders, ${out.files.length} files, ${out.deletes.length} stale`;
  } else {
    throw new Error(`unknown phase ${o.phase}`);
  }
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify({ phase: o.phase, seconds, maxRssMb, detail }));
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  if (o.phase) return runPhase(o);
  const dir = mkdtempSync(join(tmpdir(), 'pkgpub-bench-site-'));
  const self = fileURLToPath(import.meta.url);
  const pass = [
    '--drivers',
    String(o.drivers),
    '--packages',
    String(o.packages),
    '--arches',
    String(o.arches),
  ];
  const baseline = execFileSync(
    process.execPath,
    ['-e', 'console.log(process.resourceUsage().maxRSS/1024)'],
    { encoding: 'utf8' },
  );
  console.log(
    `tree: ${o.drivers} driver files in ${VERSION} (${['x86_64', 'aarch64'].slice(0, Math.max(1, o.arches)).join(', ')}), ` +
      `${o.packages} packages with .asc; in ${dir}`,
  );
  console.log(`(an empty node process peaks at ${Number(baseline).toFixed(0)} MB RSS)`);
  const labels: Record<string, string> = {
    first: 'first publish: driver index + all listings',
    add: 'add one driver: version index + touched listings',
    'listings-first': '  of which listings alone, first publish',
    'listings-add': '  of which listings alone, one more driver',
    list: 'FsStore.list of the whole tree alone',
    rebuild: 'site rebuild: list the tree, render every folder',
  };
  let ok = true;
  try {
    for (const phase of ['first', 'add', 'listings-first', 'listings-add', 'list', 'rebuild']) {
      const line = execFileSync(process.execPath, [self, '--phase', phase, '--dir', dir, ...pass], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      }).trim();
      const r = JSON.parse(line.split('\n').pop()!) as { seconds: number; maxRssMb: number; detail: string };
      const pass5 = r.seconds < 5 && r.maxRssMb < 300;
      ok &&= pass5;
      console.log(
        `${labels[phase]!.padEnd(50)} ${r.seconds.toFixed(2).padStart(6)} s  peak RSS ${r.maxRssMb.toFixed(0).padStart(4)} MB  ${pass5 ? 'ok' : 'OVER TARGET'}  (${r.detail})`,
      );
    }
  } finally {
    if (!o.keep) {
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}-empty`, { recursive: true, force: true });
    }
  }
  console.log(ok ? 'all phases within 5 s and 300 MB' : 'some phase is over the target (5 s, 300 MB)');
  if (!ok) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
