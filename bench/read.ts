/**
 * Read throughput of the artifact readers beside this machine's one-pass hashing limit.
 *
 * Every reader hashes the whole file while it parses (md5+sha1+sha256+sha512; sha256 alone for
 * rpm), so no reader can beat reading the file in READ_CHUNK pieces through those digests; the
 * ratio column says how close each one gets. Inputs are built here with the real tools (dpkg-deb, rpmbuild, tar+gzip,
 * gcc+objcopy) in a temp dir that is removed afterwards.
 *
 *   npm run build && node dist/bench/read.js [--sizes 1,200] [--keep]
 *
 * The payload is half random bytes, half repeated text (per 64 KiB block), so gzip roughly halves
 * it as it does real binaries; a tarball reader that inflates pays for that, which fully random
 * (stored) data would hide.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import { READ_CHUNK } from '../src/artifacts/open-file.js';
import { readDeb } from '../src/artifacts/read-deb.js';
import { readDriver } from '../src/artifacts/read-driver.js';
import { readRpm } from '../src/artifacts/read-rpm.js';
import { readTarball } from '../src/artifacts/read-tarball.js';
import { ArtifactError } from '../src/errors.js';

const MB = 1_000_000;

interface Input {
  kind: 'deb' | 'rpm' | 'tarball' | 'driver';
  /** Target size in MB (the package file, roughly). */
  target: number;
  path?: string;
  /** Why there is no input, when building it failed. */
  buildError?: string;
  read: (path: string) => Promise<{ size: number }>;
}

interface Row {
  kind: string;
  target: number;
  size?: number;
  readerMBs?: number;
  hashMBs?: number;
  peakRssMB?: number;
  note?: string;
}

function parseArgs(argv: string[]): { sizes: number[]; keep: boolean } {
  let sizes = [1, 200];
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') keep = true;
    else if (a === '--sizes') {
      sizes = (argv[++i] ?? '').split(',').map(Number);
      if (sizes.some((s) => !(s > 0))) throw new Error('--sizes takes MB values, e.g. --sizes 1,200');
    } else throw new Error(`unknown argument ${a}; usage: read.js [--sizes 1,200] [--keep]`);
  }
  return { sizes, keep };
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
}

/** Writes `bytes` of half-random, half-text data, 64 KiB at a time (never all in memory). */
async function writePayload(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  const block = 64 * 1024;
  const text = Buffer.from(
    'pkgpub bench payload: repeated text compresses, random bytes do not.\n'.repeat(512),
  );
  for (let done = 0; done < bytes; done += block) {
    const n = Math.min(block, bytes - done);
    const half = n >> 1;
    const chunk = Buffer.concat([randomBytes(half), text.subarray(0, n - half)]);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Writes `bytes` of random data: what a driver's sections look like to a hasher. */
async function writeRandom(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let done = 0; done < bytes; done += 1 << 20) {
    if (!out.write(randomBytes(Math.min(1 << 20, bytes - done)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function buildInputs(dir: string, target: number): Promise<Input[]> {
  const tag = `${target}mb`;
  const bytes = Math.round(target * MB);
  // gzip about halves the payload, so twice the target lands the package near it.
  const payload = join(dir, `payload-${tag}.bin`);
  await writePayload(payload, 2 * bytes);
  const version = `1.0.${target}`;
  const inputs: Input[] = [];
  const attempt = async (input: Input, build: () => Promise<string> | string) => {
    try {
      input.path = await build();
    } catch (err) {
      const e = err as Error & { stderr?: Buffer };
      input.buildError = `build failed: ${(e.stderr?.toString() || e.message).trim().split('\n').at(-1)}`;
    }
    inputs.push(input);
  };

  log(`building ${target} MB deb...`);
  await attempt({ kind: 'deb', target, read: readDeb }, () => {
    const root = join(dir, `deb-${tag}`);
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'usr/share/pkgpub-bench'), { recursive: true });
    run('cp', [payload, join(root, 'usr/share/pkgpub-bench/payload.bin')]);
    writeFileSync(
      join(root, 'DEBIAN/control'),
      `Package: pkgpub-bench\nVersion: ${version}\nArchitecture: amd64\nMaintainer: pkgpub bench <bench@pkgpub.invalid>\nInstalled-Size: ${Math.ceil((2 * bytes) / 1024)}\nDescription: benchmark input\n payload only\n`,
    );
    const out = join(dir, `pkgpub-bench_${version}_amd64.deb`);
    run('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', root, out]);
    rmSync(root, { recursive: true });
    return out;
  });

  log(`building ${target} MB rpm...`);
  await attempt({ kind: 'rpm', target, read: readRpm }, () => {
    const top = join(dir, `rpm-${tag}`);
    for (const d of ['SPECS', 'SOURCES', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT', 'db', 'home']) {
      mkdirSync(join(top, d), { recursive: true });
    }
    const spec = join(top, 'SPECS/bench.spec');
    writeFileSync(
      spec,
      [
        'Name: pkgpub-bench',
        `Version: ${version}`,
        'Release: 1',
        'Summary: benchmark input',
        'License: Apache-2.0',
        '%description',
        'payload only',
        '%install',
        'mkdir -p %{buildroot}/usr/share/pkgpub-bench',
        `cp ${payload} %{buildroot}/usr/share/pkgpub-bench/payload.bin`,
        '%files',
        '/usr/share/pkgpub-bench/payload.bin',
        '',
      ].join('\n'),
    );
    run(
      'rpmbuild',
      [
        '-bb',
        '--quiet',
        '--dbpath',
        join(top, 'db'),
        '--define',
        `_topdir ${top}`,
        '--define',
        '_build_id_links none',
        '--define',
        'debug_package %{nil}',
        // The stock post-install scripts (strip, check-buildroot...) grep every byte: not what is measured.
        '--define',
        '__os_install_post %{nil}',
        '--define',
        '__arch_install_post %{nil}',
        '--define',
        '_binary_payload w1.gzdio',
        '--target',
        'x86_64',
        spec,
      ],
      { ...process.env, HOME: join(top, 'home') },
    );
    const out = join(dir, `pkgpub-bench-${version}-1.x86_64.rpm`);
    run('cp', [join(top, 'RPMS/x86_64', `pkgpub-bench-${version}-1.x86_64.rpm`), out]);
    rmSync(top, { recursive: true });
    return out;
  });

  log(`building ${target} MB tarball...`);
  await attempt({ kind: 'tarball', target, read: readTarball }, () => {
    const top = join(dir, `tar-${tag}`, `pkgpub-bench-${version}-x86_64`);
    mkdirSync(join(top, 'usr/share'), { recursive: true });
    run('cp', [payload, join(top, 'usr/share/payload.bin')]);
    const out = join(dir, `pkgpub-bench-${version}-x86_64.tar.gz`);
    execFileSync('bash', [
      '-c',
      'set -o pipefail; tar -C "$1" -cf - "$2" | gzip -1 > "$3"',
      'tar',
      join(dir, `tar-${tag}`),
      `pkgpub-bench-${version}-x86_64`,
      out,
    ]);
    rmSync(join(dir, `tar-${tag}`), { recursive: true });
    return out;
  });

  log(`building ${target} MB driver...`);
  await attempt({ kind: 'driver', target, read: (p) => readDriver(p) }, async () => {
    const src = join(dir, 'probe.c');
    writeFileSync(src, 'int pkgpub_bench_probe(int x) { return x + 1; }\n');
    run('gcc', ['-c', src, '-o', join(dir, 'probe.o')]);
    const blob = join(dir, `blob-${tag}.bin`);
    await writeRandom(blob, bytes);
    const drvDir = join(dir, 'driver', '1.0.0+driver', 'x86_64');
    mkdirSync(drvDir, { recursive: true });
    const out = join(drvDir, `pkgpub_bench_${version}_${tag}.ko`);
    run('objcopy', ['--add-section', `.bench=${blob}`, join(dir, 'probe.o'), out]);
    rmSync(blob);
    return out;
  });

  rmSync(payload);
  return inputs;
}

/**
 * Reads the file the way the readers do and feeds every chunk to the digests that reader computes:
 * all four for debs, tarballs and drivers; sha256 alone for rpms (all repodata needs).
 */
async function hashOnly(path: string, algos: readonly string[]): Promise<number> {
  const hs = algos.map((a) => createHash(a));
  let n = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK }) as AsyncIterable<Buffer>) {
    n += chunk.length;
    for (const h of hs) h.update(chunk);
  }
  for (const h of hs) h.digest();
  return n;
}

/** Best wall time of `runs` calls (after one warm-up that also fills the page cache), and peak RSS growth. */
async function measure(
  fn: () => Promise<unknown>,
  runs: number,
): Promise<{ seconds: number; peakRss: number }> {
  await fn();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  let best = Number.POSITIVE_INFINITY;
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await fn();
      best = Math.min(best, performance.now() - t0);
      peak = Math.max(peak, process.memoryUsage.rss());
    }
  } finally {
    clearInterval(timer);
  }
  return { seconds: best / 1000, peakRss: peak - base };
}

function isNotImplemented(err: unknown): boolean {
  return err instanceof ArtifactError && /not implemented/i.test(err.reason);
}

async function benchOne(input: Input): Promise<Row> {
  const row: Row = { kind: input.kind, target: input.target };
  if (!input.path) return { ...row, note: `skipped (${input.buildError ?? 'no input'})` };
  const path = input.path;
  try {
    const a = await input.read(path);
    row.size = a.size;
  } catch (err) {
    if (isNotImplemented(err)) return { ...row, note: 'skipped (reader not implemented yet)' };
    return { ...row, note: `skipped (reader failed: ${(err as Error).message})` };
  }
  const runs = row.size! >= 50 * MB ? 3 : 15;
  const algos = input.kind === 'rpm' ? ['sha256'] : ['md5', 'sha1', 'sha256', 'sha512'];
  const hash = await measure(() => hashOnly(path, algos), runs);
  const reader = await measure(() => input.read(path), runs);
  row.hashMBs = row.size! / MB / hash.seconds;
  row.readerMBs = row.size! / MB / reader.seconds;
  row.peakRssMB = reader.peakRss / MB;
  return row;
}

function printTable(rows: Row[]): void {
  const header = ['reader', 'size', 'reader MB/s', 'hash-limit MB/s', 'ratio', 'peak RSS +MB'];
  const lines = rows.map((r) => {
    const size = r.size === undefined ? `~${r.target} MB` : `${(r.size / MB).toFixed(1)} MB`;
    if (r.note) return [r.kind, size, r.note];
    return [
      r.kind,
      size,
      r.readerMBs!.toFixed(0),
      r.hashMBs!.toFixed(0),
      (r.readerMBs! / r.hashMBs!).toFixed(2),
      r.peakRssMB!.toFixed(0),
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...lines.filter((l) => l.length > 2).map((l) => l[i]!.length)),
  );
  const fmt = (cells: string[]) =>
    cells.length === 3 && cells[2]!.startsWith('skipped')
      ? `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]!.padStart(widths[1]!)}  ${cells[2]}`
      : cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
}

async function main(): Promise<void> {
  const { sizes, keep } = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'pkgpub-bench-'));
  const rows: Row[] = [];
  try {
    for (const target of sizes) {
      const inputs = await buildInputs(dir, target);
      for (const input of inputs) {
        log(`measuring ${input.kind} ${target} MB...`);
        rows.push(await benchOne(input));
      }
    }
  } finally {
    if (keep) log(`inputs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `node ${process.version}, read chunk ${READ_CHUNK / 1024} KiB, best of 3 (>= 50 MB) or 15 runs`,
  );
  printTable(rows);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
