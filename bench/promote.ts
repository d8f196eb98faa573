/**
 * `pkgpub promote` of N packages (half debs, half rpms) from dev to stable on s3rver (127.0.0.1),
 * every S3 request counted, against the way it is done without server-side copy in the same run:
 * each package downloaded and uploaded again through the same client.
 *
 *   npm run build && node dist/bench/promote.js [--n 100] [--total-mb 100] [--keep]
 *
 * Sizes are spread log-uniformly from 10 KB to 20 MB and scaled to the total (bench/apt's debs,
 * bench/yum's rpms, signed on publish). A counter on the S3 client (bench/s3rver.ts) sees every
 * request and the object bodies it carries (PUT up, GET down); a key ending in .deb or .rpm is a
 * package. Promote should move only index, pointer and .asc bytes; the packages are CopyObject
 * requests, which carry no body. s3rver has no conditional writes, so promote takes the lease
 * (.pkgpub-lock.json), whose read-back waits 0.5 s: that pause is in its time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promote } from '../src/changes/promote.js';
import { parsePromoteSpec } from '../src/changes/promote-select.js';
import { publish } from '../src/changes/publish.js';
import { resolveConfig } from '../src/config/resolve.js';
import { formatBytes } from '../src/format-bytes.js';
import { mapLimit } from '../src/map-limit.js';
import { loadSigner } from '../src/signing/load-key.js';
import { S3Store } from '../src/storage/s3-store.js';
import { benchKey, buildDeb, buildRpms, loadAverage, spreadSizes } from './fixtures.js';
import { countS3, S3RVER_CREDENTIALS, type S3Counts, startS3rver } from './s3rver.js';
import { time, timeAsync } from './timing.js';

function args(argv: string[]) {
  const o = { n: 100, totalMb: 100, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') o.keep = true;
    else if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--total-mb') o.totalMb = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const PACKAGE = /\.(deb|rpm)$/;
/** The store's own default width, so both sides move the same number of objects at once. */
const CONCURRENCY = 4;

async function main() {
  const o = args(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'pkgpub-bench-promote-'));
  const bucket = 'bench';
  const srv = await startS3rver(join(work, 's3'), bucket);
  try {
    const nDebs = Math.ceil(o.n / 2);
    const sizes = spreadSizes(o.n, o.totalMb);
    process.stderr.write(`building ${nDebs} debs and ${o.n - nDebs} rpms…\n`);
    const [inputs, tBuild] = time(() => [
      ...sizes.slice(0, nDebs).map((s, i) => buildDeb(work, `pd${i}`, '1.0-1', s)),
      ...buildRpms(work, join(work, 'rpms'), 'pr', sizes.slice(nDebs)),
    ]);
    const names = [
      ...Array.from({ length: nDebs }, (_, i) => `pd${i}`),
      ...Array.from({ length: o.n - nDebs }, (_, i) => `pr${i}`),
    ];
    process.stderr.write(`built ${inputs.length} in ${tBuild.toFixed(1)} s\n`);

    const key = await benchKey(work);
    const { signer } = await loadSigner({ keyArmored: key.armored });
    const store = new S3Store({
      bucket,
      prefix: 'site',
      endpoint: srv.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: S3RVER_CREDENTIALS,
      concurrency: CONCURRENCY,
    });
    const counter = countS3(store.client, (k) => PACKAGE.test(k));
    const dev = resolveConfig({}, { channel: 'dev' });
    const stable = resolveConfig({}, { channel: 'stable' });
    const loads = [loadAverage()];
    const [, tPublish, cPublish] = await timeAsync(() => publish({ inputs, store, cfg: dev, signer }));
    const published = snapshot(counter.counts);

    counter.reset();
    loads.push(loadAverage());
    const [res, tPromote, cPromote] = await timeAsync(() =>
      promote({ specs: names.map(parsePromoteSpec), from: dev, cfg: stable, store, signer }),
    );
    const promoted = snapshot(counter.counts);
    const packages = res.report.picked;
    if (packages.length !== o.n) throw new Error(`promote picked ${packages.length} packages, not ${o.n}`);

    // Without server-side copy: every package down and up again, through the same client, as wide.
    counter.reset();
    loads.push(loadAverage());
    const [, tRef, cRef] = await timeAsync(() =>
      mapLimit(packages, CONCURRENCY, async (p) => {
        const bytes = await store.get(p.from);
        if (!bytes) throw new Error(`${p.from} is missing`);
        await store.put(`reference/${p.to}`, { bytes });
      }),
    );
    const reference = snapshot(counter.counts);

    const packageBytes = sizes.reduce((a, b) => a + b, 0);
    console.log(
      `${o.n} packages (${nDebs} debs, ${o.n - nDebs} rpms, ${formatBytes(packageBytes)}) on s3rver, ${CONCURRENCY} requests in flight; bytes: object bodies through pkgpub (PUT up, GET down)`,
    );
    const row = (label: string, c: S3Counts, seconds: number, cpu: number, load: string) =>
      console.log(
        `  ${label.padEnd(34)} ${seconds.toFixed(2).padStart(6)} s (${cpu.toFixed(2)} s cpu)  ${kinds(c).padEnd(52)} packages ${formatBytes(c.packageBytes).padStart(9)}, other ${formatBytes(c.otherBytes).padStart(9)}  (load ${load})`,
      );
    row('publish into dev (context)', published, tPublish, cPublish, loads[0]!);
    row('promote dev → stable', promoted, tPromote, cPromote, loads[1]!);
    row('reference: GET + PUT each package', reference, tRef, cRef, loads[2]!);
    const a = res.applied;
    const copied = a?.copied ?? 0;
    console.log(
      `  promote: ${copied} objects copied server-side (${formatBytes(a?.copiedBytes ?? 0)}), ${(a?.written ?? 0) - copied} written (${formatBytes(a?.bytes ?? 0)}); ` +
        `time in requests by kind, summed over those in flight: ${byKind(promoted.secondsByKind, (v) => `${v.toFixed(2)} s`)}`,
    );
    const through = (c: S3Counts) => c.packageBytes + c.otherBytes;
    console.log(
      `promote: ${sum(promoted)} requests, ${promoted.packageBytes} package bytes and ${promoted.otherBytes} other bytes through pkgpub, ${tPromote.toFixed(2)} s; ` +
        `download + re-upload of the packages alone: ${through(reference)} bytes, ${tRef.toFixed(2)} s; ` +
        `reference / promote: bytes ×${(through(reference) / Math.max(1, through(promoted))).toFixed(0)}, time ×${(tRef / tPromote).toFixed(2)}, pkgpub cpu ×${(cRef / cPromote).toFixed(2)}`,
    );
    if (promoted.packageBytes !== 0) process.exitCode = 1;
  } finally {
    srv.stop();
    if (!o.keep) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

function snapshot(c: S3Counts): S3Counts {
  return {
    ...c,
    byCommand: new Map(c.byCommand),
    byKind: new Map(c.byKind),
    secondsByKind: new Map(c.secondsByKind),
  };
}

function sum(c: S3Counts): number {
  return [...c.byKind.values()].reduce((a, b) => a + b, 0);
}

const ORDER = ['GET', 'HEAD', 'PUT', 'COPY', 'LIST', 'DELETE'];
const rank = (k: string) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);

/** "GET 3, PUT 2, …" in the order of ORDER. */
function byKind(m: Map<string, number>, show: (v: number) => string = String): string {
  return [...m]
    .sort(([x], [y]) => rank(x) - rank(y))
    .map(([k, v]) => `${k} ${show(v)}`)
    .join(', ');
}

function kinds(c: S3Counts): string {
  return `${sum(c)} req: ${byKind(c.byKind)}`;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
