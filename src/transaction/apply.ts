import type { ObjectStore } from '../storage/object-store.js';
import type { Plan } from '../model/plan.js';
import type { OutputFile, Tier } from '../model/tiers.js';

/**
 * Files rewritten in place come in pairs with their signatures (repomd.xml and its .asc, SHA256SUMS
 * and its .asc, InRelease beside Release.gpg, a driver index and its .asc). A cache that keeps each
 * for a time of its own can hand a client one new and one old, which fails signature checks; with
 * no-cache every cache asks the origin each time (a 304 when unchanged, by ETag/Last-Modified), so
 * the two always come from one state.
 */
export const CACHE_CONTROL: Record<Tier, string> = {
  blob: 'public, max-age=31536000, immutable',
  'content-addressed': 'public, max-age=31536000, immutable',
  index: 'public, no-cache',
  pointer: 'public, no-cache',
  listing: 'public, max-age=300',
};

export interface Applied {
  /** Objects written, copies included. */
  written: number;
  deleted: number;
  /** Bytes uploaded from this machine (copies move inside the store and are not counted here). */
  bytes: number;
  /** Objects copied from another key of the store, and their bytes. */
  copied: number;
  copiedBytes: number;
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
  let copied = 0;
  let copiedBytes = 0;
  for (const { tier, steps } of plan.tiers) {
    // Ordered tiers (pointers) go one by one: Release before InRelease, .asc before repomd.xml.
    const width = tier === 'pointer' ? 1 : concurrency;
    if (tier === 'pointer') opts.beforeCommit?.();
    let next = 0;
    const worker = async () => {
      while (next < steps.length) {
        const step = steps[next++]!;
        const { file } = step;
        const copy = await putOutput(store, file, CACHE_CONTROL[tier]);
        if (copy) {
          copied++;
          copiedBytes += file.size;
        } else {
          bytes += file.size;
        }
        written++;
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
  return { written, deleted: plan.deletes.length, bytes, copied, copiedBytes };
}

/**
 * Writes one output: a put of its bytes or file, or, for a copy body, a copy inside the store (the
 * source is a blob pkgpub wrote with this tier's metadata, and the copy keeps it). True for a copy.
 */
export async function putOutput(
  store: ObjectStore,
  file: OutputFile,
  cacheControl?: string,
): Promise<boolean> {
  if ('copyFrom' in file.body) {
    await store.copy(file.body.copyFrom, file.key, {
      sha256: file.sha256,
      size: file.size,
      ...(file.md5 ? { md5: file.md5 } : {}),
    });
    return true;
  }
  await store.put(file.key, file.body, {
    contentType: file.contentType,
    ...(cacheControl ? { cacheControl } : {}),
    sha256: file.sha256,
    ...(file.md5 ? { md5: file.md5 } : {}),
  });
  return false;
}
