/**
 * A bench phase in a process of its own, so its peak RSS (process.resourceUsage().maxRSS) is its
 * own: the bench runs its own script again with the phase's arguments, and the phase prints one
 * JSON line as its last line of stdout.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { cpuSeconds } from './timing.js';

export function inOwnProcess<T>(script: string, args: string[]): T {
  const out = execFileSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  return JSON.parse(out.split('\n').pop()!) as T;
}

/** This process's peak RSS so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** The peak RSS of a node process that does nothing, in MB: the floor under every phase's figure. */
export function emptyNodeRssMb(): number {
  return Number(
    execFileSync(process.execPath, ['-e', 'console.log(process.resourceUsage().maxRSS/1024)'], {
      encoding: 'utf8',
    }),
  );
}

/**
 * A phase's clock: wall and CPU seconds (children included) since it was made, and `mark(step)`, which with
 * PKGPUB_DEBUG_TIMING=1 prints when each step starts (wall and CPU seconds) on stderr.
 */
export function phaseClock() {
  const t = performance.now();
  const cpu0 = cpuSeconds();
  const seconds = () => (performance.now() - t) / 1000;
  const cpu = () => cpuSeconds() - cpu0;
  const mark = (step: string) => {
    if (process.env.PKGPUB_DEBUG_TIMING)
      console.error(`[timing] ${seconds().toFixed(2)} s wall, ${cpu().toFixed(2)} s cpu: ${step}`);
  };
  return { seconds, cpu, mark };
}
