import type { ObjectStore } from '../storage/object-store.js';
import type { Plan } from '../model/plan.js';
import type { Tier } from '../model/tiers.js';

const CACHE_CONTROL: Record<Tier, string> = {
  blob: 'public, max-age=31536000, immutable',
  'content-addressed': 'public, max-age=31536000, immutable',
  index: 'public, max-age=60',
  pointer: 'public, max-age=60',
  listing: 'public, max-age=300',
};

export interface Applied {
  written: number;
  deleted: number;
  bytes: number;
}

export interface ApplyProgress {
  onWrite?(key: string, bytes: number): void;
  onDelete?(key: string): void;
}

/**
 * Executes a plan tier by tier: every write of a tier finishes before the next tier starts, so
 * pointers are written only once everything they reach is in place. Within a tier, writes run
 * `concurrency` at a time.
 */
export async function applyPlan(
  plan: Plan,
  store: ObjectStore,
  opts: {
    concurrency?: number;
    progress?: ApplyProgress;
    /** Called before the first pointer is written and before anything is deleted; throwing stops the apply there. */
    beforeCommit?(): void;
  } = {},
): Promise<Applied> {
  const concurrency = Math.max(1, opts.concurrency ?? store.preferredWriteConcurrency ?? 4);
  let written = 0;
  let bytes = 0;
  for (const { tier, steps } of plan.tiers) {
    // Ordered tiers (pointers) go one by one: Release before InRelease, .asc before repomd.xml.
    const width = tier === 'pointer' ? 1 : concurrency;
    if (tier === 'pointer') opts.beforeCommit?.();
    let next = 0;
    const worker = async () => {
      while (next < steps.length) {
        const step = steps[next++]!;
        await store.put(step.file.key, step.file.body, {
          contentType: step.file.contentType,
          cacheControl: CACHE_CONTROL[tier],
          sha256: step.file.sha256,
          ...(step.file.md5 ? { md5: step.file.md5 } : {}),
        });
        written++;
        bytes += step.file.size;
        opts.progress?.onWrite?.(step.file.key, step.file.size);
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, steps.length) }, worker));
  }
  if (plan.deletes.length) {
    opts.beforeCommit?.();
    await store.delete(plan.deletes);
    for (const k of plan.deletes) opts.progress?.onDelete?.(k);
  }
  return { written, deleted: plan.deletes.length, bytes };
}
