import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

/** What hashing a local file found: its digests and size, or that it is not there. */
export type FileDigests = { size: number; digests: Record<string, string> } | undefined;

interface Request {
  id: number;
  path: string;
  algorithms: string[];
}
interface Reply {
  id: number;
  result?: FileDigests;
  error?: string;
}

/**
 * Hashes files of a folder on every core, each with a bare read loop over one buffer, as
 * bench/hash-floor.ts does. --deep over a folder of 100,000 drivers spent its time in each file's
 * stat, stream, open and close on the main thread (bench/verify.ts); this is one open, one or a
 * few reads and one close per file, on a worker. From TypeScript sources (tests) there is no
 * compiled worker to start, so files are hashed on this thread.
 */
export class FileHasher {
  private readonly workers: { w: Worker; busy: number }[] = [];
  private readonly waiting = new Map<number, { resolve(r: FileDigests): void; reject(e: Error): void }>();
  private next = 0;

  constructor(private readonly threads = Math.min(availableParallelism(), 8)) {}

  async hash(path: string, algorithms: string[]): Promise<FileDigests> {
    if (this.threads < 2 || !import.meta.url.endsWith('.js')) return hashFile(path, algorithms);
    if (this.workers.length === 0) this.start();
    const id = this.next++;
    const target = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    target.busy++;
    try {
      return await new Promise<FileDigests>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        target.w.postMessage({ id, path, algorithms } satisfies Request);
      });
    } finally {
      target.busy--;
    }
  }

  private start(): void {
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(new URL(import.meta.url));
      w.on('message', (m: Reply) => {
        const p = this.waiting.get(m.id);
        if (!p) return;
        this.waiting.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.result);
      });
      w.on('error', (err) => {
        for (const p of this.waiting.values()) p.reject(err);
        this.waiting.clear();
      });
      this.workers.push({ w, busy: 0 });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ w }) => w.terminate()));
    this.workers.length = 0;
  }
}

let buffer: Buffer | undefined;

/** One file's digests in one pass; undefined when it is not there (or not a file). */
export function hashFile(path: string, algorithms: string[]): FileDigests {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw err;
  }
  buffer ??= Buffer.allocUnsafe(1 << 20);
  const hashes = algorithms.map((a) => createHash(a));
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
  return { size, digests: Object.fromEntries(algorithms.map((a, i) => [a, hashes[i]!.digest('hex')])) };
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (m: Request) => {
    try {
      port.postMessage({ id: m.id, result: hashFile(m.path, m.algorithms) } satisfies Reply);
    } catch (err) {
      port.postMessage({ id: m.id, error: (err as Error).message } satisfies Reply);
    }
  });
}
