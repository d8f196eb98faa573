import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { READ_CHUNK } from '../artifacts/open-file.js';
import { readArtifact } from '../artifacts/scan.js';
import type { Artifact } from '../artifacts/types.js';
import { prehashDigest } from '../signing/prehash.js';
import type { CopyJob, CopyResult, Job } from './jobs.js';

/** One job, on whichever thread calls it. */
export async function runJob(job: Job): Promise<Artifact | CopyResult> {
  return job.type === 'read' ? readArtifact(job.path, job.kind, job.opts) : copyWithHead(job);
}

async function copyWithHead(job: CopyJob): Promise<CopyResult> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  tap.write(job.head);
  await pipeline(
    createReadStream(job.input, { start: job.from, highWaterMark: READ_CHUNK }),
    tap,
    createWriteStream(job.out),
  );
  const signatureDigest = job.prehash ? prehashDigest(hash, job.prehash) : undefined;
  return { sha256: hash.digest('hex'), size, ...(signatureDigest ? { signatureDigest } : {}) };
}
