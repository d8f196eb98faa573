import { setTimeout as sleep } from 'node:timers/promises';
import { ConflictError } from '../errors.js';
import { GuardedStore } from './guarded-store.js';
import { acquireLock } from './lock.js';
import type { Plan } from './plan.js';
import { type AttemptConflict, type PublishRequest, type PublishResult, publish } from './publish.js';

/** Attempts before an optimistic publish gives up (each one re-reads and merges). */
const MAX_ATTEMPTS = 6;

/**
 * A publish that cannot lose another publisher's commit. Where the target compares-and-swaps
 * (`conditionalWrites`: S3 endpoints that honour If-Match / If-None-Match, AWS among them) it runs
 * without a lock: every state file it read is rewritten only if still the version it read, and
 * on a conflict the whole publish runs again on the new state (what is already uploaded is
 * skipped). Elsewhere it holds the target's lock object from reading the state to writing the
 * last pointer, so publishers take turns. Dry runs do neither: they write nothing.
 */
export async function publishLocked(req: PublishRequest, lockWaitMs?: number): Promise<PublishResult> {
  if (req.dryRun) return publish(req);
  if (req.store.getVersioned && (await req.store.conditionalWrites?.())) return publishOptimistic(req);
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

async function publishOptimistic(req: PublishRequest): Promise<PublishResult> {
  const earlier: Plan[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return await publish({ ...req, store: new GuardedStore(req.store), relist: earlier });
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= MAX_ATTEMPTS) throw err;
      // A conflict in the listing tier comes after the pointers committed: the next attempt then
      // finds nothing to do, and must still re-render the folders this one had changed.
      const plan = (err as AttemptConflict).plan;
      if (plan) earlier.push(plan);
      req.progress?.onStep?.(`${err.message}; re-reading the target and merging (attempt ${attempt + 1})`);
      // Jittered, growing pause so two publishers that collided do not collide again in step.
      await sleep(Math.random() * 200 * attempt);
    }
  }
}
