import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { type DigestCheck, digestVerifies } from './signature-math.js';

/**
 * What hashing a local file found: its digests and size (and, given a signature's trailer, the
 * digest that signature signs), or that it is not there.
 */
export type FileDigests =
  | { size: number; digests: Record<string, string>; signed?: string; verified?: boolean }
  | undefined;

/** A detached signature's hash and the trailer its digest ends with (signature-templates.ts). */
export interface SignedTrailer {
  algorithm: string;
  bytes: Uint8Array;
  /**
   * The signature's key and values, when its template is already judged: the worker then checks
   * the digest itself (`verified`), which on a busy main thread was the cost that kept the
   * workers waiting.
   */
  check?: DigestCheck;
}

interface Job {
  path: string;
  algorithms: string[];
  trailer?: SignedTrailer;
}
interface Request {
  id: number;
  jobs: Job[];
}
interface Reply {
  id: number;
  results?: FileDigests[];
  error?: string;
}
interface Pending extends Job {
  resolve(r: FileDigests): void;
  reject(e: Error): void;
}

/** Files per message at most: a message per file cost the main thread more than the hashing. */
const BATCH = 64;

/**
 * Hashes files of a folder on every core, each with a bare read loop over one buffer, as
 * bench/hash-floor.ts does. --deep over a folder of 100,000 drivers spent its time in each file's
 * stat, stream, open and close on the main thread (bench/verify.ts); this is one open, one or a
 * few reads and one close per file, on a worker. Files asked for while every worker is busy go
 * together in one message. From TypeScript sources (tests) there is no compiled worker to start,
 * so files are hashed on this thread.
 */
export class FileHasher {
  private readonly workers: { w: Worker; inFlight: number }[] = [];
  private readonly waiting = new Map<number, { batch: Pending[]; worker: { inFlight: number } }>();
  private queue: Pending[] = [];
  private next = 0;

  constructor(private readonly threads = Math.min(availableParallelism(), 8)) {}

  /** True when files are hashed on workers: callers then keep many files asked for at once. */
  get parallel(): boolean {
    return this.threads >= 2 && import.meta.url.endsWith('.js');
  }

  async hash(path: string, algorithms: string[], trailer?: SignedTrailer): Promise<FileDigests> {
    if (!this.parallel) return hashFile(path, algorithms, trailer);
    return new Promise<FileDigests>((resolve, reject) => {
      this.queue.push({ path, algorithms, ...(trailer ? { trailer } : {}), resolve, reject });
      this.pump();
    });
  }

  /**
   * Many files at once, for one promise: 100,000 drivers asked for one by one cost the main thread,
   * which feeds the workers, a promise and an async frame each.
   */
  hashMany(paths: readonly string[], algorithms: string[]): Promise<FileDigests[]> {
    if (!this.parallel) return Promise.resolve(paths.map((p) => hashFile(p, algorithms)));
    if (paths.length === 0) return Promise.resolve([]);
    return new Promise<FileDigests[]>((resolve, reject) => {
      const out = new Array<FileDigests>(paths.length);
      let left = paths.length;
      let failed = false;
      for (const [i, path] of paths.entries())
        this.queue.push({
          path,
          algorithms,
          resolve(r) {
            out[i] = r;
            if (--left === 0) resolve(out);
          },
          reject(e) {
            if (failed) return;
            failed = true;
            reject(e);
          },
        });
      this.pump();
    });
  }

  /** Two batches in flight per worker: the next is queued there when one ends. */
  private pump(): void {
    if (this.workers.length === 0) this.start();
    for (const worker of this.workers) {
      while (worker.inFlight < 2 && this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH);
        const id = this.next++;
        this.waiting.set(id, { batch, worker });
        worker.inFlight++;
        worker.w.postMessage({
          id,
          jobs: batch.map((b) => ({
            path: b.path,
            algorithms: b.algorithms,
            ...(b.trailer ? { trailer: b.trailer } : {}),
          })),
        } satisfies Request);
      }
    }
  }

  private start(): void {
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(new URL(import.meta.url));
      w.on('message', (m: Reply) => {
        const p = this.waiting.get(m.id);
        if (!p) return;
        this.waiting.delete(m.id);
        p.worker.inFlight--;
        for (const [j, b] of p.batch.entries()) {
          if (m.error !== undefined) b.reject(new Error(m.error));
          else b.resolve(m.results![j]);
        }
        this.pump();
      });
      w.on('error', (err) => {
        for (const p of this.waiting.values()) for (const b of p.batch) b.reject(err);
        this.waiting.clear();
      });
      this.workers.push({ w, inFlight: 0 });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ w }) => w.terminate()));
    this.workers.length = 0;
  }
}

let buffer: Buffer | undefined;

/** One file's digests in one pass; undefined when it is not there (or not a file). */
export function hashFile(path: string, algorithms: string[], trailer?: SignedTrailer): FileDigests {
  // The signature's hash rides along with the others: one pass gives both.
  const all =
    trailer && !algorithms.includes(trailer.algorithm) ? [...algorithms, trailer.algorithm] : algorithms;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
  buffer ??= Buffer.allocUnsafe(1 << 20);
  const hashes = all.map((a) => createHash(a));
  let size = 0;
  try {
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
      const chunk = buffer.subarray(0, n);
      for (const h of hashes) h.update(chunk);
      size += n;
    }
  } catch (err) {
    // A folder opens on Linux and fails on its first read.
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
    throw err;
  } finally {
    closeSync(fd);
  }
  const signed = trailer
    ? hashes[all.indexOf(trailer.algorithm)]!.copy().update(trailer.bytes).digest()
    : undefined;
  return {
    size,
    digests: Object.fromEntries(algorithms.map((a, i) => [a, hashes[i]!.digest('hex')])),
    ...(signed !== undefined ? { signed: signed.toString('hex') } : {}),
    ...(signed !== undefined && trailer?.check ? { verified: digestVerifies(trailer.check, signed) } : {}),
  };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (m: Request) => {
    try {
      port.postMessage({
        id: m.id,
        results: m.jobs.map((j) => hashFile(j.path, j.algorithms, j.trailer)),
      } satisfies Reply);
    } catch (err) {
      port.postMessage({ id: m.id, error: (err as Error).message } satisfies Reply);
    }
  });
}
