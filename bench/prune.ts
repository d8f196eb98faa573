/**
 * `pkgpub prune --channel dev --keep 3 --apply` of a dev channel of NAMES × VERSIONS debs on a
 * folder target, against the reference way in the same run: regenerating the kept set's indexes
 * with apt-ftparchive (packages + release) and gpg, over the same deb files.
 *
 *   npm run build && node dist/bench/prune.js [--names 50] [--versions 100] [--keep 3] [--payload 10000] [--keep-dir]
 *
 * The debs are written in this process (bench/fixtures.ts writeDeb: dpkg-deb takes ~50 ms each),
 * each with a random payload of --payload bytes, before any clock starts. The publish of all of
 * them into dev (context) and the prune each run in a process of their own (bench/phase.ts), so
 * the prune's peak RSS is its own. The prune runs with the CLI's default --gc-grace (1 h), and
 * what it drops stays held by the channel's history for rollback: it rewrites indexes and deletes
 * nothing yet; "freed" is what the dropped versions' files take, freed once they are collected.
 * CPU seconds include child processes (xz; the reference's apt-ftparchive, gzip, xz, gpg), and
 * PKGPUB_DEBUG_TIMING=1 prints when each step of both phases starts. rpms are left out: each
 * version needs an rpmbuild run of its own (5–6 s for 50 subpackages on this machine).
 */
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { prune } from '../src/changes/prune.js';
import { publish } from '../src/changes/publish.js';
import { resolveConfig } from '../src/config/resolve.js';
import { formatBytes } from '../src/format-bytes.js';
import { loadSigner } from '../src/signing/load-key.js';
import { FsStore } from '../src/storage/fs-store.js';
import { aptFtparchive, benchKey, loadAverage, writeDeb } from './fixtures.js';
import { emptyNodeRssMb, inOwnProcess, peakRssMb, phaseClock } from './phase.js';
import { time } from './timing.js';

interface Options {
  names: number;
  versions: number;
  keep: number;
  payload: number;
  keepDir: boolean;
  phase?: string;
  dir?: string;
}

function args(argv: string[]): Options {
  const o: Options = { names: 50, versions: 100, keep: 3, payload: 10_000, keepDir: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep-dir') o.keepDir = true;
    else if (a === '--phase') o.phase = argv[++i];
    else if (a === '--dir') o.dir = argv[++i];
    else if (a === '--names') o.names = Number(argv[++i]);
    else if (a === '--versions') o.versions = Number(argv[++i]);
    else if (a === '--keep') o.keep = Number(argv[++i]);
    else if (a === '--payload') o.payload = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const dev = resolveConfig({}, { channel: 'dev' });

interface PhaseResult {
  seconds: number;
  cpu: number;
  maxRssMb: number;
  written: number;
  deleted: number;
  removed?: number;
  kept?: string[];
  bytesFreed?: number;
  sizeBefore?: number;
}

/** One phase, in this process: publish every deb of `${dir}/debs` into `${dir}/tree`, or prune it. */
async function runPhase(o: Options): Promise<void> {
  const dir = o.dir!;
  const store = new FsStore(join(dir, 'tree'));
  const { signer } = await loadSigner({ keyFile: join(dir, 'key.asc') });
  const debs = readdirSync(join(dir, 'debs')).map((f) => join(dir, 'debs', f));
  const clock = phaseClock();
  const progress = { onStep: clock.mark };
  let out: Omit<PhaseResult, 'seconds' | 'cpu' | 'maxRssMb'>;
  if (o.phase === 'publish') {
    const res = await publish({ inputs: debs, store, cfg: dev, signer, progress });
    out = { written: res.applied?.written ?? 0, deleted: res.applied?.deleted ?? 0 };
  } else {
    const res = await prune({
      store,
      cfg: dev,
      policy: { keep: o.keep, protect: [] },
      signer,
      gcGraceMs: 3_600_000,
      progress,
    });
    const d = res.report.decision;
    out = {
      written: res.applied?.written ?? 0,
      deleted: res.applied?.deleted ?? 0,
      removed: d.remove.length,
      kept: d.keep.map((k) => `${k.version.name}_${k.version.version}_${k.version.arch}.deb`),
      bytesFreed: d.bytesFreed,
      sizeBefore: d.sizeBefore,
    };
  }
  clock.mark('done');
  console.log(JSON.stringify({ seconds: clock.seconds(), cpu: clock.cpu(), maxRssMb: peakRssMb(), ...out }));
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  if (o.phase) return runPhase(o);
  const dir = mkdtempSync(join(tmpdir(), 'pkgpub-bench-prune-'));
  const self = fileURLToPath(import.meta.url);
  const phase = (name: string) =>
    inOwnProcess<PhaseResult>(self, ['--phase', name, '--dir', dir, '--keep', String(o.keep)]);
  try {
    const total = o.names * o.versions;
    const made = performance.now();
    mkdirSync(join(dir, 'debs'));
    for (let v = 0; v < o.versions; v++)
      for (let n = 0; n < o.names; n++) await writeDeb(join(dir, 'debs'), `p${n}`, `1.${v}-1`, o.payload);
    const key = await benchKey(dir);
    process.stderr.write(`wrote ${total} debs in ${((performance.now() - made) / 1000).toFixed(1)} s\n`);
    const load0 = loadAverage();
    const pub = time(() => phase('publish'))[0];
    const load1 = loadAverage();
    const pr = time(() => phase('prune'))[0];
    const load2 = loadAverage();

    // Reference: the kept debs (the same files, linked outside the clock) indexed and signed.
    const ref = join(dir, 'ref');
    mkdirSync(join(ref, 'pool'), { recursive: true });
    for (const f of pr.kept ?? []) linkSync(join(dir, 'debs', f), join(ref, 'pool', f));
    const [, tRef, refCpu] = time(() => aptFtparchive(ref, 'pool', 'dev', key.gnupg));
    const load3 = loadAverage();

    console.log(
      `dev channel: ${o.names} names × ${o.versions} versions = ${total} debs (${formatBytes(pr.sizeBefore ?? 0)}), folder target; an empty node process peaks at ${emptyNodeRssMb().toFixed(0)} MB RSS`,
    );
    const line = (label: string, seconds: number, rest: string, load: string) =>
      console.log(`  ${label.padEnd(40)} ${seconds.toFixed(2).padStart(6)} s  ${rest}  (load ${load})`);
    const phaseLine = (label: string, r: PhaseResult, rest: string, load: string) =>
      line(
        label,
        r.seconds,
        `${r.cpu.toFixed(2)} s cpu, peak RSS ${r.maxRssMb.toFixed(0)} MB; ${rest}`,
        load,
      );
    phaseLine(
      `publish ${total} debs (context)`,
      pub,
      `${pub.written} objects written`,
      `${load0} → ${load1}`,
    );
    phaseLine(
      `prune --keep ${o.keep} --apply`,
      pr,
      `${pr.removed} versions removed, ${pr.kept?.length} kept, ${formatBytes(pr.bytesFreed ?? 0)} freed; ${pr.written} objects written, ${pr.deleted} deleted`,
      `${load1} → ${load2}`,
    );
    line(
      `apt-ftparchive + gpg over the ${pr.kept?.length} kept`,
      tRef,
      `${refCpu.toFixed(2)} s cpu (its processes); Packages(.gz, .xz), Release, InRelease, Release.gpg`,
      `${load2} → ${load3}`,
    );
    console.log(
      `prune of ${total} debs to ${o.keep} a name: ${pr.seconds.toFixed(2)} s, peak ${pr.maxRssMb.toFixed(0)} MB, ${pr.removed} removed (${formatBytes(pr.bytesFreed ?? 0)}); ` +
        `apt-ftparchive over the kept set ${tRef.toFixed(2)} s (${refCpu.toFixed(2)} s cpu); pkgpub / reference: time ${(pr.seconds / tRef).toFixed(2)}, cpu ${(pr.cpu / refCpu).toFixed(2)}`,
    );
  } finally {
    if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
