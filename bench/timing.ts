import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/**
 * Every measurement starts on a quiet disk. First `sync`, or the gigabyte the previous step wrote
 * is flushed during this one and billed to whichever side runs next. Then a second's pause and a
 * wait until the block devices have done no writing, discarding or flushing for half a second (15 s
 * at most): on this project's machines (ext4 mounted with `discard`, on a virtual disk) the disk
 * stays busy after `sync` returns, and a writer that starts at once runs slower. The signed rpm
 * publish of bench/yum measured 2.55–2.65 s straight after `sync`, 1.6–1.9 s after this wait.
 */
function settle(): void {
  execFileSync('sync');
  sleep(1000);
  const deadline = performance.now() + 15_000;
  let last = diskWrites();
  let quietSince = performance.now();
  while (performance.now() - quietSince < 500 && performance.now() < deadline) {
    sleep(50);
    const now = diskWrites();
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    }
  }
}

/**
 * The write side of /proc/diskstats for whole disks: writes, sectors written, I/Os in flight,
 * discards, sectors discarded, flushes. Empty where there is no such file.
 */
function diskWrites(): string {
  let text: string;
  try {
    text = readFileSync('/proc/diskstats', 'utf8');
  } catch {
    return '';
  }
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 19 && /^(?:(?:vd|sd|xvd|hd)[a-z]+|nvme\d+n\d+)$/.test(f[2]!))
    .map((f) => [f[2], f[7], f[9], f[11], f[14], f[16], f[18]].join(' '))
    .join('\n');
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * CPU seconds (user + system) of this process, every thread, and of the child processes it has
 * waited for (xz, gpg, apt-ftparchive), from /proc/self/stat's cutime and cstime (100 ticks a
 * second on Linux; 0 for children where there is no /proc).
 */
export function cpuSeconds(): number {
  const c = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(f[13]) + Number(f[14])) / 100;
  } catch {}
  return (c.user + c.system) / 1e6 + children;
}

/**
 * Runs `fn` and returns its result with the wall time in seconds and the CPU seconds it took
 * (cpuSeconds: this process and the children it waited for), which a busy machine changes less.
 */
export function time<T>(fn: () => T): [T, number, number] {
  settle();
  const c = cpuSeconds();
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000, cpuSeconds() - c];
}

export async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number, number]> {
  settle();
  const c = cpuSeconds();
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000, cpuSeconds() - c];
}
