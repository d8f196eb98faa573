/**
 * `pkgpub verify` of a big site: 5,000 debs and 100,000 drivers in one driver version, published
 * by `pkgpub publish` (signed: InRelease, a .asc per deb, signed driver indexes) and read back:
 *
 *   npm run build && node dist/bench/verify.js [--debs 5000] [--drivers 100000] [--keep] [--reuse DIR]
 *
 * --keep leaves the work folder (inputs, site, built.json); --reuse DIR verifies that site again
 * without building it (pkgpub serve is started on the port its driver URLs name).
 *
 *   http     `pkgpub verify http://127.0.0.1:PORT/` against `pkgpub serve` (both the built CLI,
 *            each a child process): the goal, under 20 s and 300 MB
 *   folder   `pkgpub verify DIR`: the same checks over the folder
 *   deep     `pkgpub verify DIR --deep`: every deb and driver read and hashed (and each deb's
 *            .asc checked); its bytes / wall time against hashFloor (bench/hash-floor.ts: one-pass
 *            sha256 on every core) over the same files in the same run, once before and once
 *            after, the faster counted. Printed for the whole run and for the time --deep adds to
 *            the folder run (the hashing, beside listing the tree and reading its indexes); the
 *            goal, at least 80 %, is judged on the latter.
 * Each run is timed by /usr/bin/time (wall, user+system CPU seconds, peak RSS); over HTTP the
 * requests are counted from the serve log (one line per request). The load average is printed
 * with every figure: on a shared machine the wall time says as much about the neighbours.
 *
 * The site is built before any clock starts, as cheaply as stays honest: the debs are made here
 * (an ar archive of control.tar.gz and an uncompressed data.tar, 4-40 KB each, no dpkg-deb per
 * package), the drivers are sparse files of 1-15 KB holding an ELF magic (so the whole deep run is
 * about 0.9 GB and reads nothing from disk but the debs), and one `pkgpub publish --hardlink`
 * reads them all and links them into the tree, with `--base-url` naming the port `pkgpub serve`
 * gets, so each driver's download URL is asked of the server as a driver loader would.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { hashFloor } from './hash-floor.js';
import { timeAsync } from './timing.js';
import { generateKeyPair } from '../src/signing/generate-key.js';

interface Options {
  debs: number;
  drivers: number;
  keep: boolean;
  /** A work folder kept by an earlier --keep run: its site is verified again, not rebuilt. */
  reuse?: string;
}

function args(argv: string[]): Options {
  const o: Options = { debs: 5_000, drivers: 100_000, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') o.keep = true;
    else if (a === '--debs') o.debs = Number(argv[++i]);
    else if (a === '--drivers') o.drivers = Number(argv[++i]);
    else if (a === '--reuse') o.reuse = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const DRIVER_VERSION = '7.0.0+driver';

// --- the site's inputs ---------------------------------------------------------------------

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** One ustar member (a regular file), header and padded data. */
function tarFile(name: string, data: Uint8Array): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(data.length, 12), 124);
  h.write(octal(1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write('root', 265);
  h.write('root', 297);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = (512 - (data.length % 512)) % 512;
  return Buffer.concat([h, data, Buffer.alloc(pad)]);
}

const tarEnd = () => Buffer.alloc(1024);

function arMember(name: string, data: Uint8Array): Buffer {
  const h = `${name.padEnd(16)}${'1700000000'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`;
  return Buffer.concat([
    Buffer.from(h, 'latin1'),
    data,
    data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0),
  ]);
}

/** A .deb as dpkg-deb -Znone makes it: debian-binary, control.tar.gz, data.tar. */
function deb(name: string, version: string, payload: Uint8Array): Buffer {
  const control =
    `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: Bench <bench@example.invalid>\n` +
    `Installed-Size: ${Math.ceil(payload.length / 1024)}\nDescription: bench package ${name}\n payload of ${payload.length} bytes\n`;
  const controlTar = gzipSync(Buffer.concat([tarFile('./control', Buffer.from(control)), tarEnd()]));
  const dataTar = Buffer.concat([tarFile(`./opt/${name}/payload`, payload), tarEnd()]);
  return Buffer.concat([
    Buffer.from('!<arch>\n'),
    arMember('debian-binary', Buffer.from('2.0\n')),
    arMember('control.tar.gz', controlTar),
    arMember('data.tar', dataTar),
  ]);
}

/** A name in Falco's grammar, distinct for every i (as in bench/adopt.ts). */
function driverName(i: number): string {
  const kmod = i % 3 !== 0;
  const target = ['ubuntu-generic', 'amazonlinux2', 'debian', 'centos', 'flatcar'][i % 5]!;
  const kernelRelease = `5.${i % 20}.0-${Math.floor(i / 20)}-generic`;
  const kernelVersion = String(1 + (i % 150));
  return `falco_${target}_${kernelRelease}_${kernelVersion}.${kmod ? 'ko' : 'o'}`;
}

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);

/** The inputs; returns their total size in bytes. */
function makeInputs(input: string, o: Options): { debBytes: number; driverBytes: number } {
  const debDir = join(input, 'debs');
  mkdirSync(debDir, { recursive: true });
  const pool = randomBytes(64 * 1024);
  let debBytes = 0;
  for (let i = 0; i < o.debs; i++) {
    const size = 4_000 + ((i * 7919) % 36_000);
    const at = (i * 104_729) % (pool.length - size);
    const bytes = deb(`bench${i}`, `1.0.${i}-1`, pool.subarray(at, at + size));
    writeFileSync(join(debDir, `bench${i}_1.0.${i}-1_amd64.deb`), bytes);
    debBytes += bytes.length;
  }
  const drvDir = join(input, 'drivers', DRIVER_VERSION, 'x86_64');
  mkdirSync(drvDir, { recursive: true });
  let driverBytes = 0;
  for (let i = 0; i < o.drivers; i++) {
    const size = 1_000 + ((i * 7919) % 14_000);
    const fd = openSync(join(drvDir, driverName(i)), 'w');
    try {
      writeSync(fd, ELF);
      ftruncateSync(fd, size);
    } finally {
      closeSync(fd);
    }
    driverBytes += size;
  }
  return { debBytes, driverBytes };
}

/** A port free now, for --base-url before `pkgpub serve` listens on it. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as { port: number }).port;
  await new Promise((res) => s.close(res));
  return port;
}

// --- measuring a child ---------------------------------------------------------------------

interface Run {
  wall: number;
  cpu: number;
  maxRssMb: number;
  code: number;
  stdout: string;
  load: string;
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const HAS_TIME = existsSync('/usr/bin/time');

/** A running process's user+system CPU seconds, from /proc (clock ticks of 1/100 s); NaN elsewhere. */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * `node CLI ...args` under /usr/bin/time: wall, user+system CPU, peak RSS. Asynchronous: this
 * process keeps reading `pkgpub serve`'s log meanwhile (a full pipe would stall the server).
 */
async function measure(cliArgs: string[]): Promise<Run> {
  const load = loadavg();
  const node = [CLI, ...cliArgs];
  const t = performance.now();
  const child = HAS_TIME
    ? spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, ...node])
    : spawn(process.execPath, [fileURLToPath(import.meta.url), '--wrap', ...node]);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? -1)));
  const res = { stdout, stderr, status: code };
  const wallHere = (performance.now() - t) / 1000;
  const line = res.stderr
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('TIME '));
  if (!line) throw new Error(`no timing from the child:\n${res.stderr.slice(-2000)}`);
  const [, e, u, s, m] = line.split(' ').map(Number) as number[];
  return {
    wall: HAS_TIME ? e! : wallHere,
    cpu: u! + s!,
    maxRssMb: m! / 1024,
    code: res.status ?? -1,
    stdout: res.stdout,
    load,
  };
}

/** Without /usr/bin/time: runs the CLI in this process and prints what /usr/bin/time would. */
async function wrap(argv: string[]): Promise<void> {
  const t = performance.now();
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number>((res) => child.on('exit', (c) => res(c ?? 1)));
  // Node has no rusage of children; this wrapper is the fallback only, its own figures are a floor.
  const ru = process.resourceUsage();
  process.stderr.write(
    `TIME ${((performance.now() - t) / 1000).toFixed(2)} ${ru.userCPUTime / 1e6} ${ru.systemCPUTime / 1e6} ${ru.maxRSS}\n`,
  );
  process.exitCode = code;
}

/** The verify's own summary lines (not its findings), and its findings counted by level. */
function summarize(out: string): { summary: string[]; findings: Record<string, number>; errors: string[] } {
  const findings: Record<string, number> = {};
  const summary: string[] = [];
  const errors: string[] = [];
  for (const l of out.split('\n')) {
    if (l === '') continue;
    const m = /^(error|warning|note): /.exec(l);
    if (m) {
      findings[m[1]!] = (findings[m[1]!] ?? 0) + 1;
      if (m[1] !== 'note' && errors.length < 5) errors.push(l.slice(0, 200));
    } else summary.push(l);
  }
  return { summary, findings, errors };
}

function report(label: string, r: Run, extra = ''): void {
  console.log(
    `${label.padEnd(34)} ${r.wall.toFixed(2).padStart(6)} s wall, ${r.cpu.toFixed(2).padStart(6)} s cpu, ` +
      `peak RSS ${r.maxRssMb.toFixed(0).padStart(4)} MB, exit ${r.code}${extra}  [load ${r.load}]`,
  );
  const s = summarize(r.stdout);
  for (const l of s.summary) console.log(`    | ${l}`);
  const counts = Object.entries(s.findings)
    .map(([k, v]) => `${v} ${k}${v === 1 ? '' : 's'}`)
    .join(', ');
  if (counts) console.log(`    findings: ${counts}`);
  for (const e of s.errors) console.log(`    ! ${e}`);
}

interface Built {
  debs: number;
  drivers: number;
  debBytes: number;
  driverBytes: number;
  /** The port the drivers' download URLs name: `pkgpub serve` listens there. */
  port: number;
}

/** Inputs made, then published by the CLI; what was made is kept in built.json for --reuse. */
async function buildSite(work: string, o: Options): Promise<Built> {
  const input = join(work, 'input');
  let t = performance.now();
  const sizes = makeInputs(input, o);
  console.log(
    `inputs: ${o.debs} debs (${(sizes.debBytes / 1e6).toFixed(0)} MB), ${o.drivers} drivers in ${DRIVER_VERSION}/x86_64 ` +
      `(${(sizes.driverBytes / 1e6).toFixed(0)} MB, sparse), made in ${((performance.now() - t) / 1000).toFixed(1)} s; in ${work}`,
  );
  const pair = await generateKeyPair({ name: 'bench', email: 'bench@example.invalid', type: 'ed25519' });
  writeFileSync(join(work, 'key.asc'), pair.privateArmored);
  const port = await freePort();
  t = performance.now();
  const load = loadavg();
  const pub = spawnSync(
    process.execPath,
    [
      CLI,
      'publish',
      input,
      '--to',
      join(work, 'site'),
      '--hardlink',
      '--base-url',
      `http://127.0.0.1:${port}/`,
      '--signing-key',
      join(work, 'key.asc'),
    ],
    { encoding: 'utf8', maxBuffer: 256 << 20 },
  );
  if (pub.status !== 0) throw new Error(`pkgpub publish failed:\n${pub.stderr.slice(-4000)}`);
  console.log(
    `site: pkgpub publish --hardlink in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed below) [load ${load}]`,
  );
  const built: Built = { debs: o.debs, drivers: o.drivers, ...sizes, port };
  writeFileSync(join(work, 'built.json'), JSON.stringify(built));
  return built;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--wrap') return wrap(argv.slice(1));
  const o = args(argv);
  const work = o.reuse ?? mkdtempSync(join(tmpdir(), 'pkgpub-bench-verify-'));
  const input = join(work, 'input');
  const site = join(work, 'site');
  let serve: ReturnType<typeof spawn> | undefined;
  let ok = true;
  try {
    const built = o.reuse
      ? (JSON.parse(readFileSync(join(work, 'built.json'), 'utf8')) as Built)
      : await buildSite(work, o);
    if (o.reuse) console.log(`reusing the site in ${work}`);
    Object.assign(o, { debs: built.debs, drivers: built.drivers });
    const sizes = built;
    const port = built.port;
    const base = `http://127.0.0.1:${port}/`;

    // pkgpub serve, its log (one line per request) counted.
    serve = spawn(process.execPath, [CLI, 'serve', site, '--port', String(port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let requests = 0;
    let pending = '';
    serve.stderr!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (pending + d).split('\n');
      pending = lines.pop()!;
      for (const l of lines) if (/^(GET|HEAD) /.test(l)) requests++;
    });
    await new Promise<void>((res, rej) => {
      serve!.stdout!.setEncoding('utf8').on('data', (d: string) => {
        if (d.includes('serving')) res();
      });
      serve!.once('exit', (c) => rej(new Error(`pkgpub serve exited (${c})`)));
    });

    const baseline = execFileSync(
      process.execPath,
      ['-e', 'console.log(process.resourceUsage().maxRSS/1024)'],
      { encoding: 'utf8' },
    );
    console.log(
      `(an empty node process peaks at ${Number(baseline).toFixed(0)} MB RSS; ${HAS_TIME ? '/usr/bin/time' : 'resourceUsage'} measures)`,
    );

    // Over HTTP: the goal.
    await timeAsync(async () => {}); // settle the disk once after the publish
    requests = 0;
    const serveCpu0 = cpuOf(serve.pid!);
    const http = await measure(['verify', base]);
    await new Promise((res) => setTimeout(res, 500));
    const serveCpu = cpuOf(serve.pid!) - serveCpu0;
    const inGoal = http.wall < 20 && http.maxRssMb < 300;
    ok &&= inGoal && http.code === 0;
    report(
      'verify URL (pkgpub serve)',
      http,
      `, ${requests} requests (pkgpub serve: ${serveCpu.toFixed(2)} s cpu)  ${inGoal ? 'ok' : 'OVER TARGET (20 s, 300 MB)'}`,
    );

    // The folder.
    const folder = await measure(['verify', site]);
    ok &&= folder.code === 0;
    report('verify DIR', folder);

    // --deep over the folder against the one-pass floor on the very files it reads.
    const files: string[] = [];
    for (let i = 0; i < o.debs; i++) files.push(join(input, 'debs', `bench${i}_1.0.${i}-1_amd64.deb`));
    for (let i = 0; i < o.drivers; i++)
      files.push(join(input, 'drivers', DRIVER_VERSION, 'x86_64', driverName(i)));
    const bytes = sizes.debBytes + sizes.driverBytes;
    // Two floors: sha256 of every file, and the digests a client checks of each file (a Packages
    // entry lists MD5sum, SHA1, SHA256 and SHA512, and apt compares every one it lists; a driver
    // index lists sha256), which is the hashing --deep must do. The goal is judged on the second;
    // what --deep does beyond it (a signature check per deb, the reads of each .asc) counts against it.
    const DEB_DIGESTS = ['md5', 'sha1', 'sha256', 'sha512'];
    const listed = (i: number) => (i < o.debs ? DEB_DIGESTS : ['sha256']);
    const floorLoad = loadavg();
    const [, floor] = await timeAsync(() => hashFloor(files));
    const [, same] = await timeAsync(() => hashFloor(files, listed));
    const deep = await measure(['verify', site, '--deep']);
    const floorLoad2 = loadavg();
    const [, floor2] = await timeAsync(() => hashFloor(files));
    const [, same2] = await timeAsync(() => hashFloor(files, listed));
    const best = Math.min(floor, floor2);
    const bestSame = Math.min(same, same2);
    // The whole run, and the part --deep adds to the same checks without it (the folder run
    // above): the hashing, beside listing the tree and reading its indexes.
    const added = deep.wall - folder.wall;
    const pct = (floorSeconds: number, seconds: number) => `${((floorSeconds / seconds) * 100).toFixed(0)} %`;
    const addedRatio = added > 0 ? bestSame / added : Number.POSITIVE_INFINITY;
    ok &&= deep.code === 0 && addedRatio >= 0.8;
    const rate = (s: number) => `${(bytes / 1e6 / s).toFixed(0)} MB/s`;
    console.log(
      `hashFloor (sha256, every core)     ${floor.toFixed(2).padStart(6)} s before [load ${floorLoad}], ${floor2.toFixed(2)} s after [load ${floorLoad2}]: ` +
        `${rate(best)} over ${files.length} files, ${(bytes / 1e6).toFixed(0)} MB`,
    );
    console.log(
      `hashFloor (the listed digests)     ${same.toFixed(2).padStart(6)} s before, ${same2.toFixed(2)} s after: ${rate(bestSame)}` +
        ` (each deb: ${DEB_DIGESTS.join(', ')}; each driver: sha256)`,
    );
    report(
      'verify DIR --deep',
      deep,
      `, ${rate(deep.wall)} = ${pct(bestSame, deep.wall)} of the listed-digests floor`,
    );
    console.log(
      added > 0
        ? `  --deep's own part (deep − folder)  ${added.toFixed(2).padStart(6)} s: ${rate(added)} = ` +
            `${pct(bestSame, added)} of the listed-digests floor (${pct(best, added)} of sha256's)  ` +
            `${addedRatio >= 0.8 ? 'ok' : 'UNDER TARGET (80 %)'}`
        : `  --deep's own part (deep − folder)  none measurable: --deep ran no slower than the folder run (noise)`,
    );
  } finally {
    serve?.kill('SIGTERM');
    // Unlinking 210,000 names took 2.3 minutes on the shared disk: that goes on after this exits.
    if (!o.keep && !o.reuse) {
      if (existsSync('/bin/rm')) {
        spawn('/bin/rm', ['-rf', work], { detached: true, stdio: 'ignore' }).unref();
        console.log(`removing ${work} in the background`);
      } else rmSync(work, { recursive: true, force: true });
    }
  }
  console.log(ok ? 'all within the goals' : 'some run misses its goal (see above)');
  if (!ok) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
