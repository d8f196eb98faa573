import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CdnInvalidator,
  type CdnOutcome,
  invalidateApplied,
  plannedInvalidation,
} from '../cdn/invalidator.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { PreconditionError } from '../errors.js';
import { historyKey, parseHistory, recordRun, renderHistory, unreadParts } from '../model/history.js';
import { bytesFile } from '../model/output-file.js';
import { type Existing, makePlan, mergePlans, type Plan } from '../model/plan.js';
import type { OpenOutput } from '../model/text-output.js';
import type { OutputFile } from '../model/tiers.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';
import { type Applied, type ApplyProgress, applyPlan } from './apply.js';
import { GARBAGE_KEY, parsePendingGarbage, renderPendingGarbage, scheduleGarbage } from './garbage.js';
import { GuardedStore } from './guarded-store.js';
import { acquireLease, type Lease, type LeaseOptions } from './lease.js';
import { listingPlan } from './listings.js';
import { probeExisting } from './probe.js';
import type { HistoryIntent } from './run-sections.js';
import { Spill } from './spill.js';

export interface TransactionProgress extends ApplyProgress {
  onStep?(line: string): void;
}

export interface TransactionOptions {
  store: ObjectStore;
  cfg: ResolvedConfig;
  /** What the change is ("publish", "drivers prune"): shown to a command that waits for this one. */
  command: string;
  /** Writes nothing, takes no lease: the plan is what a real run would do now. */
  dryRun?: boolean;
  /** Replace blobs that exist with other bytes instead of failing. */
  force?: boolean;
  /** The one time of the run (default: when it starts). */
  now?: Date;
  /** Unreferenced objects are deleted once they have been garbage this long (0: at once). */
  gcGraceMs?: number;
  concurrency?: number;
  /** Shown on the root page (the signing key's fingerprint). */
  fingerprint?: string;
  /** After the apply, the paths it changed in place are invalidated here (a failure is reported, not thrown). */
  cdn?: CdnInvalidator;
  lease?: Pick<LeaseOptions, 'ttlMs' | 'renewMs' | 'waitMs' | 'settleMs'>;
  progress?: TransactionProgress;
}

/** What a command that is not a publish takes: everything but what the transaction fills in. */
export type ChangeOptions = Omit<TransactionOptions, 'command' | 'force'>;

/** What one attempt sees: the target (guarded on an optimistic target) and the run's settings. */
export interface AttemptContext {
  store: ObjectStore;
  cfg: ResolvedConfig;
  now: Date;
  force: boolean;
  /** Where big generated documents go as they are encoded (temp files past 256 KiB). */
  open: OpenOutput;
  step(line: string): void;
}

/** What a command changes, described against the state an attempt reads. */
export interface Change<R> {
  describe(ctx: AttemptContext): Promise<Intent<R>>;
}

export interface Intent<R> {
  /** Every object the tree should hold that this change writes (unchanged ones are skipped by the plan). */
  outputs: OutputFile[];
  /** Keys no longer referenced: deleted once the garbage grace has passed. */
  garbage?: string[];
  /**
   * A change to a channel (apt, yum, tarballs) or to the driver tree: recorded as a new
   * generation in that history (the channel's, or `drivers`), in the same commit, and its
   * `dropped` garbage held back while a kept generation names it. Commands never write a history
   * themselves.
   */
  history?: readonly HistoryIntent[];
  /** Keys to delete in this run. */
  deletes?: string[];
  /** The outputs are the listings themselves (site rebuild): no listing tier is added. */
  ownListings?: boolean;
  /**
   * The whole tree (`list('')`), listed by `describe` in this attempt before anything was written:
   * the listing tier bootstraps folders that have no listing.json from it instead of listing the
   * store a second time (adopt). It was taken before this attempt's writes as the tier's own
   * listing would be, and the lease or the conditional writes guard it the same way.
   */
  listed?: readonly ObjectInfo[];
  /**
   * Go through the garbage record even when nothing else changes, and with a grace of 0 too
   * (retention: freeing space is the point, and a later run must delete what an earlier one
   * left pending).
   */
  collectGarbage?: boolean;
  /** What the command reports; returned as it is. */
  report: R;
  /** Removes temp files the outputs point at, once applied (or the attempt failed). */
  cleanup?(): Promise<void>;
}

export interface TransactionResult<R> {
  report: R;
  plan: Plan;
  applied?: Applied;
  /** Absent when no CDN is configured or nothing cached went stale. */
  cdn?: CdnOutcome;
  /** Attempts an optimistic run needed (1 unless another command committed first). */
  attempts: number;
}

/** How long a run keeps re-reading and retrying after other commands committed first. */
const RETRY_WINDOW_MS = 10 * 60_000;
const MAX_ATTEMPTS = 100;

/**
 * The one way anything changes a tree. Takes the target's lease, or on a target that compares and
 * swaps runs without one and re-reads on a conflict; asks the change what it wants against the
 * state it reads; plans (a value); applies the plan tier by tier with the listings of the folders
 * it touches and the garbage it schedules; invalidates the CDN. Dry runs stop at the plan.
 */
export async function runTransaction<R>(
  opts: TransactionOptions,
  change: Change<R>,
): Promise<TransactionResult<R>> {
  const now = opts.now ?? new Date();
  const run = new Run(opts, change, now);
  if (opts.dryRun) return run.attempt(opts.store, []);
  const { store } = opts;
  if (store.getVersioned && (await store.conditionalWrites?.())) return run.optimistic();
  const lease = await acquireLease(store, {
    ...opts.lease,
    command: opts.command,
    onWait: (l) => opts.progress?.onStep?.(l),
  });
  try {
    return await run.attempt(store, [], lease);
  } finally {
    // A lease that cannot be given up lapses by itself; its failure must not hide how the run ended.
    await lease
      .release()
      .catch((err: unknown) =>
        opts.progress?.onStep?.(
          `could not release the lease on ${store.description} (${err instanceof Error ? err.message : String(err)}); it lapses by itself`,
        ),
      );
  }
}

class Run<R> {
  /** The plan the last attempt was applying when it failed: its writes may be in place. */
  private applying: Plan | undefined;
  /**
   * Immutable objects an earlier attempt of this run wrote (key → what it wrote): the next attempt
   * need not probe them again (500 drivers in a folder of thousands cost a HEAD each).
   */
  private readonly uploaded = new Map<string, Existing>();
  private attempts = 0;

  constructor(
    private readonly opts: TransactionOptions,
    private readonly change: Change<R>,
    private readonly now: Date,
  ) {}

  /**
   * Without a lease: every state file an attempt reads is written back only if it is still the
   * version read, so a conflict means someone else committed first; the next attempt re-reads
   * and merges. What is already uploaded is found by the probe and skipped.
   */
  async optimistic(): Promise<TransactionResult<R>> {
    const earlier: Plan[] = [];
    const giveUp = Date.now() + (this.opts.lease?.waitMs ?? RETRY_WINDOW_MS);
    for (;;) {
      try {
        return await this.attempt(new GuardedStore(this.opts.store), earlier);
      } catch (err) {
        if (!(err instanceof PreconditionError) || this.attempts >= MAX_ATTEMPTS || Date.now() > giveUp)
          throw err;
        // A conflict in the listing tier comes after the pointers committed: the next attempt then
        // finds nothing to do, and must still re-render the folders this one had changed.
        if (this.applying) earlier.push(this.applying);
        this.rememberUploads();
        this.opts.progress?.onStep?.(
          `${err.message}; re-reading the target and merging (attempt ${this.attempts + 1})`,
        );
        // Jittered and growing, so publishers that collided spread out instead of colliding again.
        await sleep(Math.random() * Math.min(250 * this.attempts, 3000));
      }
    }
  }

  private written = new Set<string>();

  private rememberUploads(): void {
    for (const t of this.applying?.tiers ?? [])
      if (t.tier === 'blob' || t.tier === 'content-addressed')
        for (const s of t.steps)
          if (this.written.has(s.file.key))
            this.uploaded.set(s.file.key, { size: s.file.size, sha256: s.file.sha256 });
  }

  /** What the target holds of `outputs`: probed, except what this run itself uploaded before. */
  private async existing(store: ObjectStore, outputs: OutputFile[]): Promise<Map<string, Existing>> {
    const mine = (o: OutputFile) => this.uploaded.get(o.key)?.sha256 === o.sha256;
    const found = await probeExisting(
      store,
      outputs.filter((o) => !mine(o)),
    );
    for (const o of outputs) if (mine(o)) found.set(o.key, this.uploaded.get(o.key)!);
    return found;
  }

  /**
   * Adds this run's generation to a history (an output of the index tier, so it lands before the
   * pointers and through this attempt's store: guarded like every state file). Returns the garbage
   * to schedule now: what no kept generation names any more. The run's own garbage waits in the
   * new generation's `dropped` until then.
   */
  private async recordHistory(
    store: ObjectStore,
    h: HistoryIntent,
    outputs: OutputFile[],
    referenced: Set<string>,
  ): Promise<string[]> {
    for (const k of h.revived ?? []) referenced.add(k);
    const preserved = new Set(h.preserved ?? []);
    // Nothing changed: no generation (a no-op publish writes nothing), and nothing was dropped.
    if (Object.keys(h.written).length === 0) return Object.values(h.dropped).flat();
    const { cfg } = this.opts;
    const name = h.record ?? cfg.channel;
    const key = historyKey(name);
    const bytes = await store.get(key);
    const parsed = parseHistory(bytes, name);
    if (!parsed.ok && bytes) {
      // What a damaged record held back is unknown: those objects stay (leaked, never wrongly deleted).
      const aside = `${key.slice(0, -'.json'.length)}.damaged-${this.now.toISOString().replace(/[:.]/g, '-')}.json`;
      outputs.push(bytesFile(aside, 'index', bytes));
      this.opts.progress?.onStep?.(
        `the history record ${key} in ${store.description} is damaged (${parsed.reason}); kept as ${aside}, a new one begins, and the objects it held back stay in place`,
      );
    }
    const record = parsed.ok ? parsed.record : { channel: name, entries: [] };
    const unread = unreadParts(record, h.read);
    const read = unread.length > 0 && h.readParts ? { ...h.read, ...(await h.readParts(unread)) } : h.read;
    const done = recordRun(
      record,
      {
        date: this.now.toISOString(),
        command: this.opts.command,
        read,
        written: h.written,
        summary: h.summary,
        dropped: h.dropped,
        revived: referenced,
        ...(preserved.size > 0 ? { preserved } : {}),
        ...(h.restored !== undefined ? { restored: h.restored } : {}),
      },
      cfg.rollback.generations,
    );
    // A copy no kept generation needs (the history keeps no earlier generation) is not written at
    // all; one already there from before is garbage like the rest.
    let released = done.released;
    const unneeded = new Set(released.filter((k) => preserved.has(k)));
    if (unneeded.size > 0) {
      for (let i = outputs.length - 1; i >= 0; i--) if (unneeded.has(outputs[i]!.key)) outputs.splice(i, 1);
      for (const k of unneeded) referenced.delete(k);
      const absent = new Set<string>();
      for (const k of unneeded) if (!(await store.head(k))) absent.add(k);
      released = released.filter((k) => !absent.has(k));
    }
    outputs.push(bytesFile(key, 'index', renderHistory(done.record)));
    return released;
  }

  async attempt(store: ObjectStore, earlier: readonly Plan[], lease?: Lease): Promise<TransactionResult<R>> {
    this.attempts++;
    this.applying = undefined;
    this.written = new Set();
    const { opts, now } = this;
    const spill = new Spill();
    let intent: Intent<R> | undefined;
    try {
      intent = await this.change.describe({
        store,
        cfg: opts.cfg,
        now,
        force: opts.force ?? false,
        open: spill.open,
        step: (l) => opts.progress?.onStep?.(l),
      });
      const outputs = [...intent.outputs];
      const deletes = [...(intent.deletes ?? [])];
      const garbage = [...(intent.garbage ?? [])];
      const referenced = new Set(outputs.map((o) => o.key));
      for (const h of intent.history ?? [])
        garbage.push(...(await this.recordHistory(store, h, outputs, referenced)));
      const grace = opts.gcGraceMs ?? 0;
      const collect = intent.collectGarbage ?? false;
      if ((grace > 0 || collect) && (outputs.length > 0 || garbage.length > 0 || collect)) {
        const pending = parsePendingGarbage(await store.get(GARBAGE_KEY));
        const due = scheduleGarbage(pending, garbage, referenced, now, grace);
        deletes.push(...due.deleteNow);
        if (renderPendingGarbage(due.pending) !== renderPendingGarbage(pending))
          outputs.push(bytesFile(GARBAGE_KEY, 'listing', renderPendingGarbage(due.pending)));
      } else {
        deletes.push(...garbage.filter((k) => !referenced.has(k)));
      }
      // Big outputs wait for apply on disk, not in memory.
      await spill.files(outputs);
      const core = makePlan(outputs, await this.existing(store, outputs), deletes, {
        force: opts.force ?? false,
      });
      const listings = intent.ownListings
        ? undefined
        : await listingPlan(core, {
            store,
            cfg: opts.cfg,
            now,
            earlier,
            open: spill.open,
            ...(opts.fingerprint ? { fingerprint: opts.fingerprint } : {}),
            ...(intent.listed ? { listed: intent.listed } : {}),
          });
      const plan = listings ? mergePlans(core, listings) : core;
      const result: TransactionResult<R> = { report: intent.report, plan, attempts: this.attempts };
      if (opts.dryRun) {
        const planned = opts.cdn && plannedInvalidation(opts.cdn, plan);
        if (planned) result.cdn = planned;
        return result;
      }
      this.applying = plan;
      result.applied = await applyPlan(plan, store, {
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        progress: {
          ...opts.progress,
          onWrite: (key, bytes) => {
            this.written.add(key);
            opts.progress?.onWrite?.(key, bytes);
          },
        },
        // A lease lost while writing (its holder stalled past the ttl) stops the run before it commits.
        ...(lease ? { beforeCommit: () => lease.assertHeld() } : {}),
      });
      this.applying = undefined;
      const cdn = opts.cdn && (await invalidateApplied(opts.cdn, plan, earlier));
      if (cdn) result.cdn = cdn;
      return result;
    } finally {
      await spill.cleanup();
      await intent?.cleanup?.();
    }
  }
}
