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

/** Seconds to sha256 every file on every core, worker start-up included. */
export async function hashFloor(files: string[]): Promise<number> {
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
              worker.postMessage(files[next++]);
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
  port.on('message', (path: string) => {
    const fd = openSync(path, 'r');
    const hash = createHash('sha256');
    try {
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    port.postMessage(hash.digest('hex'));
  });
}
