import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { syncChunks } from '../artifacts/open-file.js';
import { readArtifact } from '../artifacts/scan.js';
import type { Artifact } from '../artifacts/types.js';
import { signDigestWith } from '../signing/digest-signer.js';
import { prehashDigest } from '../signing/prehash.js';
import type { CopyJob, CopyResult, Job } from './jobs.js';

/** One job, on whichever thread calls it. */
export async function runJob(job: Job): Promise<Artifact | CopyResult | Uint8Array[]> {
  switch (job.type) {
    case 'read':
      return readArtifact(job.path, job.kind, job.opts);
    case 'copy':
      return copyWithHead(job);
    case 'sign':
      return job.digests.map((d) => signDigestWith(job.key, d));
  }
}

/**
 * Synchronous, as reads on a worker are (see syncChunks): the thread has nothing else to do, and
 * a copy is a loop of read, hash, write over one reused buffer.
 */
function copyWithHead(job: CopyJob): CopyResult {
  const hash = createHash('sha256');
  let size = 0;
  const out = openSync(job.out, 'w');
  try {
    const put = (bytes: Uint8Array) => {
      hash.update(bytes);
      size += bytes.length;
      for (let off = 0; off < bytes.length; ) off += writeSync(out, bytes, off, bytes.length - off);
    };
    put(job.head);
    for (const chunk of syncChunks(job.input, job.from, true)) put(chunk);
  } finally {
    closeSync(out);
  }
  const signatureDigest = job.prehash ? prehashDigest(hash, job.prehash) : undefined;
  return { sha256: hash.digest('hex'), size, ...(signatureDigest ? { signatureDigest } : {}) };
}
