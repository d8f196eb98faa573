import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ArtifactError, PkgpubError, type ErrorCode } from '../errors.js';
import { readArtifact, type ScanOptions } from './scan.js';
import type { Artifact, ArtifactKind } from './types.js';

/**
 * Reads artifacts on every core. Hashing (md5+sha1+sha256+sha512 over every byte) is the cost of
 * reading and runs synchronously on whichever thread calls it, so one worker per core is what
 * makes reading scale. Results keep the input order. From TypeScript sources (tests) there is no
 * compiled worker to start, so reading stays on this thread.
 */
export async function readArtifacts(
  items: { path: string; kind: ArtifactKind }[],
  opts: ScanOptions = {},
  onRead?: (a: Artifact) => void,
): Promise<Artifact[]> {
  const workerUrl = new URL('./read-worker.js', import.meta.url);
  const threads = Math.min(availableParallelism(), items.length, 8);
  if (threads < 2 || !import.meta.url.endsWith('.js')) {
    const out: Artifact[] = [];
    for (const it of items) {
      const a = await readArtifact(it.path, it.kind, opts);
      onRead?.(a);
      out.push(a);
    }
    return out;
  }
  const results: Artifact[] = new Array(items.length);
  const workers = Array.from({ length: threads }, () => new Worker(fileURLToPath(workerUrl)));
  let next = 0;
  try {
    await Promise.all(
      workers.map(async (w) => {
        while (next < items.length) {
          const id = next++;
          const it = items[id]!;
          const reply = await new Promise<{ artifact?: Artifact; error?: SerializedError }>(
            (resolve, reject) => {
              const onMessage = (m: { id: number; artifact?: Artifact; error?: SerializedError }) => {
                if (m.id !== id) return;
                w.off('message', onMessage);
                w.off('error', reject);
                resolve(m);
              };
              w.on('message', onMessage);
              w.once('error', reject);
              w.postMessage({ id, path: it.path, kind: it.kind, opts });
            },
          );
          if (reply.error) throw revive(reply.error);
          results[id] = reply.artifact!;
          onRead?.(reply.artifact!);
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

interface SerializedError {
  name: string;
  message: string;
  code: ErrorCode;
  file?: string;
  reason?: string;
}

function revive(e: SerializedError): Error {
  if (e.file !== undefined && e.reason !== undefined) return new ArtifactError(e.file, e.reason);
  return new PkgpubError(e.code, e.message);
}
