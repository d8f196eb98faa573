import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Artifact } from '../artifacts/types.js';
import { ArtifactError, type ErrorCode, PkgpubError } from '../errors.js';
import type { CopyJob, CopyResult, Job, ReadJob, SignJob } from './jobs.js';
import { runJob } from './run-job.js';

type ResultOf<J extends Job> = J extends ReadJob
  ? Artifact
  : J extends CopyJob
    ? CopyResult
    : J extends SignJob
      ? Uint8Array[]
      : never;

/**
 * Runs jobs on every core. Hashing is what reading and copying cost, and it runs synchronously
 * on whichever thread calls it, so one worker per core is what makes them scale. Results keep
 * the job order. From TypeScript sources (tests) there is no compiled worker to start, so the
 * jobs run on this thread.
 */
export async function runJobs<J extends Job>(
  jobs: J[],
  onResult?: (r: ResultOf<J>, index: number) => void,
): Promise<ResultOf<J>[]> {
  const results = new Array<ResultOf<J>>(jobs.length);
  const threads = Math.min(availableParallelism(), jobs.length, 8);
  if (threads < 2 || !import.meta.url.endsWith('.js')) {
    for (const [i, job] of jobs.entries()) {
      results[i] = (await runJob(job)) as ResultOf<J>;
      onResult?.(results[i]!, i);
    }
    return results;
  }
  const workerPath = fileURLToPath(new URL('./worker.js', import.meta.url));
  const workers = Array.from({ length: threads }, () => new Worker(workerPath));
  let next = 0;
  try {
    await Promise.all(
      // Two jobs in flight per worker: the next one is already queued when a job ends, instead of
      // the worker idling for a round trip through this thread (a tenth of a 500-rpm read).
      workers
        .flatMap((w) => [w, w])
        .map(async (w) => {
          while (next < jobs.length) {
            const id = next++;
            const reply = await new Promise<{ result?: ResultOf<J>; error?: SerializedError }>(
              (resolve, reject) => {
                const onMessage = (m: { id: number; result?: ResultOf<J>; error?: SerializedError }) => {
                  if (m.id !== id) return;
                  w.off('message', onMessage);
                  w.off('error', reject);
                  resolve(m);
                };
                w.on('message', onMessage);
                w.once('error', reject);
                w.postMessage({ id, job: jobs[id] });
              },
            );
            if (reply.error) throw revive(reply.error);
            results[id] = reply.result!;
            onResult?.(reply.result!, id);
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
