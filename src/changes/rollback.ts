import type { ResolvedConfig } from '../config/resolve.js';
import { ContentConflictError, PkgpubError, StorageError, UsageError } from '../errors.js';
import {
  type DRIVERS_RECORD,
  generationBack,
  type HistoryEntry,
  type HistoryRecord,
  historyKey,
  parseHistory,
  partsByKind,
  reconcileHistory,
  recordLabel,
  type Snapshot,
} from '../model/history.js';
import type { ChangeSummary } from '../model/tiers.js';
import type { SectionContext, SectionKind, SectionResult } from '../repos/section.js';
import { SECTIONS } from '../repos/sections.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import { historyOf, unheldGarbage } from '../transaction/run-sections.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface RollbackRequest extends ChangeOptions {
  /** Absent only for an unsigned tree. */
  signer?: Signer;
  /** How many generations back (default 1: the state before the last change). */
  steps?: number;
  gcGraceMs?: number;
  /** `drivers`: the driver tree's record (`pkgpub drivers rollback`) instead of the channel's. */
  record?: typeof DRIVERS_RECORD;
}

export interface GenerationRef {
  id: number;
  date: string;
  command: string;
}

export interface RollbackReport {
  /** The channel, or `drivers` for the driver tree. */
  channel: string;
  /** The generation that was current. */
  from: GenerationRef;
  /** The generation put back. */
  to: GenerationRef;
  /** What each kind of repository gets back (added) and loses (removed). */
  changes: Partial<Record<SectionKind, ChangeSummary>>;
}

const ref = (e: HistoryEntry): GenerationRef => ({ id: e.id, date: e.date, command: e.command });

/**
 * A history as stored (the channel's, or `record`'s); a damaged one stops a rollback (it would
 * guess at what to keep).
 */
export async function readHistory(
  store: ObjectStore,
  cfg: ResolvedConfig,
  record: string = cfg.channel,
): Promise<HistoryRecord> {
  const key = historyKey(record);
  const parsed = parseHistory(await store.get(key), record);
  if (!parsed.ok)
    throw new StorageError(
      `the history record ${key} in ${store.description} is damaged (${parsed.reason}); the next publish sets it aside and starts a new one`,
    );
  return parsed.record;
}

function pick(snapshot: Snapshot, parts: readonly string[]): Snapshot {
  const out: Snapshot = {};
  for (const p of parts) if (snapshot[p] !== undefined) out[p] = snapshot[p];
  return out;
}

/**
 * `pkgpub rollback`: the state of `steps` changes ago, put back as a new generation of the
 * channel (new Release date and repomd revision, fresh signatures, so clients that already read
 * the newer state take it). Every blob it names must still be there: the history held them back.
 * `pkgpub drivers rollback` is the same for the driver tree, with its own record and section.
 */
export async function rollback(req: RollbackRequest): Promise<TransactionResult<RollbackReport>> {
  const steps = req.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) throw new UsageError('--steps must be a whole number ≥ 1');
  const { signer, steps: _steps, record: shared, ...opts } = req;
  const name = shared ?? req.cfg.channel;
  const who = recordLabel(name);
  const command = shared ? `${shared} rollback` : 'rollback';
  // The sections this record covers: a channel's are those without a record of their own.
  const covers = (s: (typeof SECTIONS)[number]) => s.historyRecord === shared;
  /** The newest generation the first attempt saw: "K changes ago" means from there, not from a later commit. */
  let seen: HistoryEntry | undefined;
  let report: RollbackReport | undefined;
  return runTransaction(
    { ...opts, command },
    {
      async describe(ctx) {
        const sctx: SectionContext = {
          ...ctx,
          ...(signer ? { signer } : {}),
          rpms: { sign: false, resign: false },
        };
        const { cfg } = ctx;
        const record = await readHistory(ctx.store, cfg, name);
        const parts = partsByKind(record);
        const sections = SECTIONS.filter(
          (s) => covers(s) && s.restore && s.readSnapshot && s.readStateAt && parts.has(s.kind),
        );
        const read: Snapshot = {};
        for (const s of sections) Object.assign(read, await s.readSnapshot!(sctx, parts.get(s.kind)!));
        // A newest generation whose run died before its pointers is not what clients have now.
        const reconciled = reconcileHistory(record, read);
        let target: HistoryEntry;
        try {
          target = generationBack(reconciled, steps);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        const from = reconciled.entries.at(-1)!;
        // Another command committed while this one ran (an optimistic retry): going K back from
        // there would undo that command, and restoring the first choice would drop what it added.
        // Its own generation, committed by an attempt that then met a conflict among the listings.
        if (seen && report && from.command === command && from.date === ctx.now.toISOString())
          return { outputs: [], report };
        if (seen && from.id !== seen.id)
          throw new ContentConflictError(
            `${name} changed while the rollback ran: generation ${from.id} (${from.date}, ${from.command}) committed after generation ${seen.id}; nothing was rolled back. Look at \`pkgpub ${shared ? `${shared} ` : ''}history\` and run the rollback again`,
          );
        seen = from;
        ctx.step(
          `rolling ${name} back from generation ${from.id} (${from.date}, ${from.command}) to ${target.id} (${target.date}, ${target.command})`,
        );
        const results: (SectionResult & { kind: SectionKind; revived: string[] })[] = [];
        for (const s of sections) {
          const kindParts = parts.get(s.kind)!;
          const then = pick(target.snapshot, kindParts);
          if (Object.keys(then).length === 0) continue;
          const now = pick(read, kindParts);
          let targetState: unknown;
          try {
            targetState = await s.readStateAt!(sctx, then);
          } catch (err) {
            throw new PkgpubError(
              'storage',
              `cannot read back generation ${target.id} of ${s.kind} in ${who}: ${(err as Error).message}`,
              { cause: err },
            );
          }
          const currentState = await s.readStateAt!(sctx, now);
          const restored = await s.restore!(
            sctx,
            { state: currentState, snapshot: now },
            { state: targetState, snapshot: then },
          );
          ctx.step(
            `${s.kind}: ${restored.changes.added.length} back, ${restored.changes.removed.length} out`,
          );
          results.push({ ...restored, kind: s.kind });
        }
        const history = {
          ...historyOf(results, shared),
          read,
          revived: results.flatMap((r) => r.revived),
          restored: target.id,
        };
        const changes: RollbackReport['changes'] = {};
        for (const r of results) changes[r.kind] = r.changes;
        report = { channel: name, from: ref(from), to: ref(target), changes };
        return {
          outputs: results.flatMap((r) => r.outputs),
          garbage: unheldGarbage(results, [history]),
          history: [history],
          report,
        };
      },
    },
  );
}
