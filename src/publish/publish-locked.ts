import { acquireLock } from './lock.js';
import { type PublishRequest, type PublishResult, publish } from './publish.js';

/**
 * A publish that holds the target's lock object from reading the state to writing the last
 * pointer, so two publishers take turns and each merges what the other committed. Dry runs take
 * no lock (they write nothing).
 */
export async function publishLocked(req: PublishRequest, lockWaitMs?: number): Promise<PublishResult> {
  if (req.dryRun) return publish(req);
  const atomicCreate = (await req.store.atomicCreateOnly?.()) ?? false;
  const release = await acquireLock(req.store, {
    ...(lockWaitMs !== undefined ? { waitMs: lockWaitMs } : {}),
    settleMs: atomicCreate ? 0 : 500,
  });
  try {
    return await publish(req);
  } finally {
    await release();
  }
}
