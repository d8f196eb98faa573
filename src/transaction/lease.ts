import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { PreconditionError, StorageError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';

export const LEASE_KEY = '.pkgpub-lock.json';

interface LeaseBody {
  host: string;
  /**
   * The pid namespace the pid belongs to: containers sharing the host's name (--network host) have
   * pids of their own, so only a holder in our namespace can be checked for being alive.
   */
  pidns: string;
  pid: number;
  /** Tells this holder's lease from an earlier one of the same process. */
  token: string;
  command: string;
  acquired: string;
  renewed: string;
  expires: string;
}

export interface LeaseOptions {
  /** How long the lease lasts without a renewal: a holder that died is taken over after this. */
  ttlMs?: number;
  /** How often a live holder renews (default a third of the ttl). */
  renewMs?: number;
  /** How long to wait for a live holder before giving up. */
  waitMs?: number;
  /**
   * For targets whose create-only write is not atomic (s3rver ignores If-None-Match, Swift refuses
   * it): wait this long after writing the lease and read it back; whoever's lease is there then
   * holds it. Last-writer-wins stores make this safe as long as a write lands within the wait.
   */
  settleMs?: number;
  /** What the holder is doing, for the message another command shows while it waits. */
  command?: string;
  /** Called once when the lease is found held by someone else, with who holds it. */
  onWait?(holder: string): void;
}

export interface Lease {
  /** Throws when the lease was lost (another holder took it over): nothing more may be committed. */
  assertHeld(): void;
  release(): Promise<void>;
}

export const DEFAULT_LEASE_TTL_MS = 30_000;

const PID_NAMESPACE = pidNamespace();

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}

/** Leases this process holds now, so a lease of this very process left behind by a failed release is known to be dead. */
const live = new Map<string, Lease>();
/** Tokens of leases this process is still trying to take: written, not yet confirmed, but not dead. */
const taking = new Set<string>();

/** Gives up every lease this process holds (the CLI calls this on SIGINT/SIGTERM before exiting). */
export async function releaseAllLeases(): Promise<void> {
  await Promise.allSettled([...live.values()].map((l) => l.release()));
}

/**
 * A lease on the target, so that commands changing it take turns where writes cannot be made
 * conditional (folders; S3 endpoints that ignore If-Match). Taken with a create-only write,
 * renewed while the holder works, and taken over when its holder is gone: at once when the holder
 * was a process on this host that no longer exists (a CI job cancelled with kill -9), otherwise
 * once the lease has not been renewed for its ttl.
 */
export async function acquireLease(store: ObjectStore, opts: LeaseOptions = {}): Promise<Lease> {
  const ttl = opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const deadline = Date.now() + (opts.waitMs ?? 10 * 60_000);
  const token = randomBytes(8).toString('hex');
  const atomic = (await store.atomicCreateOnly?.()) ?? false;
  const settle = opts.settleMs ?? (atomic ? 0 : 500);
  const fresh = (acquired = new Date()): LeaseBody => ({
    host: hostname(),
    pidns: PID_NAMESPACE,
    pid: process.pid,
    token,
    command: opts.command ?? 'publish',
    acquired: acquired.toISOString(),
    renewed: new Date().toISOString(),
    expires: new Date(Date.now() + ttl).toISOString(),
  });
  taking.add(token);
  try {
    return await take();
  } finally {
    taking.delete(token);
  }

  async function take(): Promise<Lease> {
    let waited = false;
    let delay = 50;
    for (;;) {
      const body = fresh();
      try {
        const info = await store.put(LEASE_KEY, encode(body), {
          ifMatch: '',
          contentType: 'application/json',
        });
        if (await confirmed(store, token, settle))
          return startLease(store, body, info.etag, ttl, opts.renewMs);
      } catch (err) {
        if (!(err instanceof PreconditionError)) throw err;
      }
      const held = await readLease(store);
      if (!held) continue;
      const stale = staleReason(held.body);
      if (stale) {
        try {
          // Replace exactly the stale lease we read; a second taker's write then fails or is overwritten,
          // and the read-back below tells the two apart.
          const info = await store.put(LEASE_KEY, encode(body), {
            ifMatch: held.etag,
            contentType: 'application/json',
          });
          if (await confirmed(store, token, Math.max(settle, 100))) {
            opts.onWait?.(`took over the lease of ${describeHolder(held.body)}: ${stale}`);
            return startLease(store, body, info.etag, ttl, opts.renewMs);
          }
        } catch (err) {
          if (!(err instanceof PreconditionError)) throw err;
        }
        continue;
      }
      if (Date.now() > deadline)
        throw new StorageError(
          `${store.description} is held by ${describeHolder(held.body)} since ${held.body.acquired ?? '?'} (lease renewed ${held.body.renewed ?? '?'}, runs until ${held.body.expires ?? '?'}). ` +
            'Wait for that command to finish or stop it; once it is gone its lease is taken over (at once on the same host, else within its lease time).',
        );
      if (!waited) opts.onWait?.(`waiting for ${describeHolder(held.body)} to finish`);
      waited = true;
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 1000);
    }
  }
}

function startLease(
  store: ObjectStore,
  body: LeaseBody,
  etag: string | undefined,
  ttl: number,
  renewMs = ttl / 3,
): Lease {
  let current = body;
  let version = etag;
  let lost: string | undefined;
  let released = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    const next = {
      ...current,
      renewed: new Date().toISOString(),
      expires: new Date(Date.now() + ttl).toISOString(),
    };
    try {
      const info = await store.put(LEASE_KEY, encode(next), {
        ...(version !== undefined ? { ifMatch: version } : {}),
        contentType: 'application/json',
      });
      current = next;
      version = info.etag;
    } catch (err) {
      // A transient failure is retried at the next tick; only the expiry below makes it fatal.
      if (err instanceof PreconditionError) lost = 'another command took the lease over';
    }
  };
  const timer = setInterval(() => {
    if (lost || released) return;
    renewing = renewing.then(renew);
  }, renewMs);
  timer.unref();
  const lease: Lease = {
    assertHeld() {
      if (!lost && Date.now() > Date.parse(current.expires))
        lost = `the lease lapsed at ${current.expires} without a renewal`;
      if (lost)
        throw new StorageError(`lost the lease on ${store.description}: ${lost}; nothing more was committed`);
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      live.delete(body.token);
      await renewing;
      if (lost) return;
      const cur = await readLease(store);
      if (cur?.body.token === body.token) await store.delete([LEASE_KEY]);
    },
  };
  live.set(body.token, lease);
  return lease;
}

/** Why a lease found in the target no longer protects anyone, or undefined while its holder lives. */
function staleReason(body: Partial<LeaseBody>): string | undefined {
  const expires = Date.parse(body.expires ?? '');
  if (!(expires > 0)) return 'its lease file is unreadable';
  if (body.host === hostname() && body.pidns === PID_NAMESPACE && typeof body.pid === 'number') {
    const token = body.token ?? '';
    if (body.pid === process.pid && !live.has(token) && !taking.has(token))
      return 'this process holds no such lease any more';
    if (!processExists(body.pid)) return `process ${body.pid} on this host is gone`;
  }
  if (expires < Date.now()) return `its lease lapsed at ${body.expires}`;
  return undefined;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists and belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeHolder(b: Partial<LeaseBody>): string {
  return `pkgpub ${b.command ?? '?'} on ${b.host ?? '?'} (pid ${b.pid ?? '?'})`;
}

async function confirmed(store: ObjectStore, token: string, settleMs: number): Promise<boolean> {
  if (settleMs <= 0) return true;
  await sleep(settleMs);
  return (await readLease(store))?.body.token === token;
}

async function readLease(
  store: ObjectStore,
): Promise<{ body: Partial<LeaseBody>; etag: string } | undefined> {
  // The etag from before the read: if the lease changes in between, a takeover conditional on it fails.
  const versioned = store.getVersioned
    ? await store.getVersioned(LEASE_KEY)
    : await store.head(LEASE_KEY).then(async (info) => {
        const bytes = info && (await store.get(LEASE_KEY));
        return bytes ? { bytes, etag: info.etag ?? '' } : undefined;
      });
  if (!versioned) return undefined;
  const { bytes, etag } = versioned;
  let body: Partial<LeaseBody>;
  try {
    body = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LeaseBody>;
  } catch {
    body = {};
  }
  return { body, etag };
}

function encode(body: LeaseBody): { bytes: Uint8Array } {
  return { bytes: new TextEncoder().encode(`${JSON.stringify(body, null, 1)}\n`) };
}
