/**
 * The least any indexer can do with a folder of packages: read every byte once and sha256 it,
 * one thread per core, nothing parsed and nothing written. Both createrepo_c and pkgpub must do
 * this (repodata's pkgid is the sha256 of the whole file), so the time it takes is the floor
 * under both; what a tool takes beyond it is its own work.
 *
 * Main thread: hashFloor(files) starts the threads and hands out files two at a time per thread.
 * Worker thread (this same module): a bare readSync loop over one buffer into createHash.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

/**
 * Seconds to sha256 every file on every core, worker start-up included. With `algorithms`, each
 * file's given digests in its one pass instead (an apt index lists four per package, and a
 * client checks every one it lists).
 */
export async function hashFloor(files: string[], algorithms?: (i: number) => string[]): Promise<number> {
  const threads = Math.min(availableParallelism(), 8, files.length);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: threads }, async () => {
      const worker = new Worker(new URL(import.meta.url));
      try {
        await new Promise<void>((resolve, reject) => {
          let inFlight = 0;
          const feed = () => {
            if (next < files.length) {
              inFlight++;
              const i = next++;
              worker.postMessage(algorithms ? { path: files[i]!, algorithms: algorithms(i) } : files[i]!);
            } else if (inFlight === 0) resolve();
          };
          worker.on('message', () => {
            inFlight--;
            feed();
          });
          worker.once('error', reject);
          feed();
          feed();
        });
      } finally {
        await worker.terminate();
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const buf = Buffer.allocUnsafe(1024 * 1024);
  port.on('message', (m: string | { path: string; algorithms: string[] }) => {
    const { path, algorithms } = typeof m === 'string' ? { path: m, algorithms: ['sha256'] } : m;
    const fd = openSync(path, 'r');
    const hashes = algorithms.map((a) => createHash(a));
    try {
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf))
        for (const h of hashes) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    port.postMessage(hashes.map((h) => h.digest('hex')).join(' '));
  });
}
