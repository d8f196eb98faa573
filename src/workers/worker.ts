import { parentPort } from 'node:worker_threads';
import { PkgpubError } from '../errors.js';
import type { Job } from './jobs.js';
import { runJob } from './run-job.js';

/** Worker side of the pool: runs one job per message and posts the result (or the error) back. */
parentPort?.on('message', async (msg: { id: number; job: Job }) => {
  try {
    parentPort?.postMessage({ id: msg.id, result: await runJob(msg.job) });
  } catch (err) {
    const e = err as Error & { code?: string; file?: string; reason?: string };
    parentPort?.postMessage({
      id: msg.id,
      error: {
        name: e.name,
        message: e.message,
        code: err instanceof PkgpubError ? e.code : 'internal',
        file: e.file,
        reason: e.reason,
      },
    });
  }
});
