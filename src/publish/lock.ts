import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConflictError, StorageError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';

export const LOCK_KEY = '.pkgpub-lock.json';

interface LockBody {
  owner: string;
  acquired: string;
  expires: string;
}

export interface LockOptions {
  /** How long a lock may be held before another publisher may break it (a crashed holder). */
  ttlMs?: number;
  /** How long to wait for a held lock before giving up. */
  waitMs?: number;
  /**
   * For targets whose create-only write is not atomic (s3rver ignores If-None-Match, Swift refuses
   * it): wait this long after writing the lock and read it back; whoever's lock is there then
   * holds it. Last-writer-wins stores make this safe as long as a write lands within the wait.
   */
  settleMs?: number;
  now?: () => number;
}

/**
 * A lock object with owner and expiry, taken with a create-only write. Used where the target cannot
 * make the pointer writes conditional (folders; S3 endpoints that ignore If-Match): publishers then
 * take turns, and each reads the state after taking the lock, so none loses the other's packages.
 */
export async function acquireLock(store: ObjectStore, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const ttl = opts.ttlMs ?? 15 * 60_000;
  const wait = opts.waitMs ?? 10 * 60_000;
  const now = opts.now ?? Date.now;
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const deadline = now() + wait;
  let delay = 50;
  for (;;) {
    const body: LockBody = {
      owner,
      acquired: new Date(now()).toISOString(),
      expires: new Date(now() + ttl).toISOString(),
    };
    try {
      await store.put(
        LOCK_KEY,
        { bytes: new TextEncoder().encode(JSON.stringify(body)) },
        { ifMatch: '', contentType: 'application/json' },
      );
      if (opts.settleMs) {
        await new Promise((r) => setTimeout(r, opts.settleMs));
        if ((await readLock(store))?.owner !== owner) continue;
      }
      return async () => {
        const cur = await readLock(store);
        if (cur?.owner === owner) await store.delete([LOCK_KEY]);
      };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
    }
    const held = await readLock(store);
    if (held && Date.parse(held.expires) < now()) {
      // The holder died: break its lock (only if it is still that same lock).
      const info = await store.head(LOCK_KEY);
      if (info) await store.delete([LOCK_KEY]);
      continue;
    }
    if (now() > deadline)
      throw new StorageError(
        `${store.description} is locked by ${held?.owner ?? 'another publisher'} until ${held?.expires ?? '?'}; another publish is running (or delete ${LOCK_KEY} if it died)`,
      );
    await new Promise((r) => setTimeout(r, delay + Math.random() * delay));
    delay = Math.min(delay * 2, 2000);
  }
}

async function readLock(store: ObjectStore): Promise<LockBody | undefined> {
  const bytes = await store.get(LOCK_KEY);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as LockBody;
  } catch {
    return { owner: 'unreadable lock', acquired: '', expires: new Date(0).toISOString() };
  }
}
