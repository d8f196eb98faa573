import { availableParallelism } from 'node:os';
import type { SignJob } from '../workers/jobs.js';
import { runJobs } from '../workers/pool.js';
import { isSlowToSign, type PortableDigestKey, signDigestWith } from './digest-signer.js';

/** Below this many slow signatures, starting worker threads costs more than it saves. */
const POOL_MIN = 16;

/**
 * Signs many digests, in order. An RSA 4096 signature costs about 5 ms, and a publish of 500 rpms
 * makes 1,000 of them (each header, each .asc): those go to a worker per core. Ed25519 signatures
 * (0.05 ms) stay on this thread.
 */
export async function signDigests(key: PortableDigestKey, digests: Uint8Array[]): Promise<Uint8Array[]> {
  if (!isSlowToSign(key) || digests.length < POOL_MIN) return digests.map((d) => signDigestWith(key, d));
  // A few jobs per core, so one slow batch does not leave the other cores idle at the end.
  const size = Math.ceil(digests.length / (Math.min(availableParallelism(), 8) * 4));
  const jobs: SignJob[] = [];
  for (let i = 0; i < digests.length; i += size)
    jobs.push({ type: 'sign', key, digests: digests.slice(i, i + size) });
  return (await runJobs(jobs)).flat();
}
