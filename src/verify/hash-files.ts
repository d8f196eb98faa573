import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { type DigestCheck, type DigestKey, digestVerifies } from './signature-math.js';
import { type DetachedSignature, digestCheckOf, parseDetached } from './signature-templates.js';

/**
 * What hashing a local file found: its digests and size (and, given a signature's trailer, the
 * digest that signature signs), or that it is not there.
 */
export type FileDigests =
  | {
      size: number;
      digests: Record<string, string>;
      signed?: string;
      verified?: boolean;
      /** What the file's `.asc` said, when one was asked for (hashSigned). */
      signature?: SignatureRead;
    }
  | undefined;

/** A detached signature's hash and the trailer its digest ends with (signature-templates.ts). */
export interface SignedTrailer {
  algorithm: string;
  bytes: Uint8Array;
  /** The signature's key and values, when its template is already judged: the digest is then checked here. */
  check?: DigestCheck;
}

/**
 * A file's `.asc` as the hashing worker read it. Reading and parsing 5,000 of them on the main
 * thread, which also feeds the workers, was what kept --deep under its goal on two cores
 * (bench/verify.ts); the worker reads the signature beside the file it hashes anyway.
 */
export type SignatureRead =
  /** No `.asc` there. */
  | { state: 'absent' }
  /** Not a signature this path judges (not OpenPGP, not v4, several packets): judge it in full. */
  | { state: 'unparsed' }
  /** Its template was taught (`teach`): checked from the digest. */
  | { state: 'checked'; template: string; verified: boolean }
  /** A template not taught yet: `signed` is the digest it signs, for SignatureTemplates.check. */
  | { state: 'unknown'; sig: DetachedSignature; signed: string };

interface Request {
  id: number;
  algorithms: string[];
  paths: string[];
  /** Per path: the path of its `.asc` to read and judge, or null. */
  ascs?: (string | null)[];
}
/** A template judged on the main thread: every worker checks its signatures from then on. */
interface Teach {
  teach: string;
  key: DigestKey;
}
interface Reply {
  id: number;
  /** Per path: its size, or -1 when it is not there. */
  sizes?: Float64Array;
  /** Every present file's hex digests, in order, each algorithm's at its fixed length. */
  digests?: string;
  signatures?: (SignatureRead | null)[];
  error?: string;
}
interface Job {
  path: string;
  algorithms: string[];
  asc?: string;
}
interface Pending extends Job {
  /** The algorithms as one string: a batch holds jobs of one set, sent once. */
  algoKey: string;
  resolve(r: FileDigests): void;
  reject(e: Error): void;
}

/**
 * Files per message at most. A message per file cost the main thread more than the hashing; the
 * message is paths and algorithms once, the reply sizes and one string of digests, since
 * structured clone of an object per file was a tenth of the main thread's time.
 */
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
  private readonly taught = new Map<string, DigestKey>();
  private queue: Pending[] = [];
  private next = 0;

  constructor(private readonly threads = Math.min(availableParallelism(), 8)) {}

  /** True when files are hashed on workers: callers then keep many files asked for at once. */
  get parallel(): boolean {
    return this.threads >= 2 && import.meta.url.endsWith('.js');
  }

  /** A template judged clean, and the key its signatures are checked with from now on. */
  teach(template: string, key: DigestKey): void {
    if (this.taught.has(template)) return;
    this.taught.set(template, key);
    for (const { w } of this.workers) w.postMessage({ teach: template, key } satisfies Teach);
  }

  /**
   * A file's digests; with `ascPath`, also what its detached signature says (`signature`), read,
   * parsed and, for a taught template, checked where the file is hashed.
   */
  async hash(path: string, algorithms: string[], ascPath?: string): Promise<FileDigests> {
    if (!this.parallel) return hashSigned(path, algorithms, ascPath, this.taught);
    return new Promise<FileDigests>((resolve, reject) => {
      this.queue.push({
        path,
        algorithms,
        algoKey: algorithms.join(),
        ...(ascPath !== undefined ? { asc: ascPath } : {}),
        resolve,
        reject,
      });
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
    const algoKey = algorithms.join();
    return new Promise<FileDigests[]>((resolve, reject) => {
      const out = new Array<FileDigests>(paths.length);
      let left = paths.length;
      let failed = false;
      for (const [i, path] of paths.entries())
        this.queue.push({
          path,
          algorithms,
          algoKey,
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
        const key = this.queue[0]!.algoKey;
        let n = 1;
        while (n < BATCH && n < this.queue.length && this.queue[n]!.algoKey === key) n++;
        const batch = this.queue.splice(0, n);
        const id = this.next++;
        this.waiting.set(id, { batch, worker });
        worker.inFlight++;
        const ascs = batch.some((b) => b.asc !== undefined) ? batch.map((b) => b.asc ?? null) : undefined;
        worker.w.postMessage({
          id,
          algorithms: batch[0]!.algorithms,
          paths: batch.map((b) => b.path),
          ...(ascs ? { ascs } : {}),
        } satisfies Request);
      }
    }
  }

  private start(): void {
    for (let i = 0; i < this.threads; i++) {
      const w = new Worker(new URL(import.meta.url));
      for (const [teach, key] of this.taught) w.postMessage({ teach, key } satisfies Teach);
      w.on('message', (m: Reply) => {
        const p = this.waiting.get(m.id);
        if (!p) return;
        this.waiting.delete(m.id);
        p.worker.inFlight--;
        if (m.error !== undefined) for (const b of p.batch) b.reject(new Error(m.error));
        else {
          const results = unpack(p.batch[0]!.algorithms, m);
          for (const [j, b] of p.batch.entries()) b.resolve(results[j]);
        }
        this.pump();
      });
      const entry = { w, inFlight: 0 };
      // A worker that fails takes its own batches with it, not the others'; it gets no more.
      const lost = (err: Error) => {
        const at = this.workers.indexOf(entry);
        if (at < 0) return;
        this.workers.splice(at, 1);
        for (const [id, p] of this.waiting)
          if (p.worker === entry) {
            this.waiting.delete(id);
            for (const b of p.batch) b.reject(err);
          }
        if (this.workers.length === 0) for (const b of this.queue.splice(0)) b.reject(err);
      };
      w.on('error', lost);
      w.on('exit', (code) => lost(new Error(`a hashing worker exited (code ${code})`)));
      this.workers.push(entry);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(({ w }) => w.terminate()));
    this.workers.length = 0;
  }
}

const hexLengths = new Map<string, number>();
function hexLength(algorithm: string): number {
  let n = hexLengths.get(algorithm);
  if (n === undefined) {
    n = createHash(algorithm).digest('hex').length;
    hexLengths.set(algorithm, n);
  }
  return n;
}

/** A reply's sizes and digest string back into one FileDigests per path. */
function unpack(algorithms: string[], m: Reply): FileDigests[] {
  const sizes = m.sizes!;
  const lengths = algorithms.map(hexLength);
  const out = new Array<FileDigests>(sizes.length);
  let at = 0;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i]!;
    if (size < 0) continue;
    const digests: Record<string, string> = {};
    for (const [k, a] of algorithms.entries()) {
      digests[a] = m.digests!.slice(at, at + lengths[k]!);
      at += lengths[k]!;
    }
    const signature = m.signatures?.[i];
    out[i] = { size, digests, ...(signature ? { signature } : {}) };
  }
  return out;
}

/** hashFile, and the file's `.asc` at `ascPath` read and judged as far as `taught` allows. */
export async function hashSigned(
  path: string,
  algorithms: string[],
  ascPath: string | undefined,
  taught: ReadonlyMap<string, DigestKey>,
): Promise<FileDigests> {
  if (ascPath === undefined) return hashFile(path, algorithms);
  let bytes: Uint8Array | undefined;
  try {
    bytes = readFileSync(ascPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw err;
  }
  const sig = bytes && (await parseDetached(bytes));
  if (!sig) {
    const got = hashFile(path, algorithms);
    return got && { ...got, signature: { state: bytes ? 'unparsed' : 'absent' } };
  }
  const key = taught.get(sig.template);
  const got = hashFile(path, algorithms, {
    algorithm: sig.hash,
    bytes: sig.trailer,
    ...(key ? { check: digestCheckOf(sig, key) } : {}),
  });
  if (!got) return undefined;
  const { signed, verified, ...rest } = got;
  return {
    ...rest,
    signature:
      verified !== undefined
        ? { state: 'checked', template: sig.template, verified }
        : { state: 'unknown', sig, signed: signed! },
  };
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
  const taught = new Map<string, DigestKey>();
  // One batch at a time, in the order sent: a signature's parse is async, and batches started
  // side by side would only compete for this one thread.
  let chain = Promise.resolve();
  port.on('message', (m: Request | Teach) => {
    if ('teach' in m) {
      taught.set(m.teach, m.key);
      return;
    }
    chain = chain.then(async () => {
      try {
        port.postMessage(await hashBatch(m, taught));
      } catch (err) {
        port.postMessage({ id: m.id, error: (err as Error).message } satisfies Reply);
      }
    });
  });
}

async function hashBatch(m: Request, taught: ReadonlyMap<string, DigestKey>): Promise<Reply> {
  const sizes = new Float64Array(m.paths.length);
  const digests: string[] = [];
  const signatures: (SignatureRead | null)[] | undefined = m.ascs ? [] : undefined;
  for (const [i, path] of m.paths.entries()) {
    const asc = m.ascs?.[i];
    const got = asc ? await hashSigned(path, m.algorithms, asc, taught) : hashFile(path, m.algorithms);
    sizes[i] = got ? got.size : -1;
    if (got) for (const a of m.algorithms) digests.push(got.digests[a]!);
    signatures?.push(got?.signature ?? null);
  }
  return { id: m.id, sizes, digests: digests.join(''), ...(signatures ? { signatures } : {}) };
}
