import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/**
 * Every measurement starts with the page cache's dirty pages written out: otherwise the gigabyte
 * the previous step wrote is flushed during this one and is billed to whichever side runs next.
 */
function settle(): void {
  execFileSync('sync');
}

/** Runs `fn` and returns its result with the wall time in seconds. */
export function time<T>(fn: () => T): [T, number] {
  settle();
  const t = performance.now();
  const r = fn();
  return [r, (performance.now() - t) / 1000];
}

export async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number]> {
  settle();
  const t = performance.now();
  const r = await fn();
  return [r, (performance.now() - t) / 1000];
}
