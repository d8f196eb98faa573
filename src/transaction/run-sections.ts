import { type KindSummary, kindOf, type PartKeys, type Snapshot } from '../model/history.js';
import type { ChangeSummary, OutputFile } from '../model/tiers.js';
import type { SectionContext, SectionInput, SectionKind, SectionResult } from '../repos/section.js';
import { SECTIONS } from '../repos/sections.js';

export type SectionChanges = Record<SectionKind, ChangeSummary>;

/** What a history records of a run: see model/history.ts. */
export interface HistoryIntent {
  /** The record: absent for the channel's, `drivers` for the driver tree's. */
  record?: string;
  /** Pointer documents as the run read them. */
  read: Snapshot;
  /** Pointer documents the run writes. */
  written: Snapshot;
  /** Garbage held back while a kept generation names it. */
  dropped: PartKeys;
  summary: Record<string, KindSummary>;
  /** Keys the new state names that no output writes (a rollback's restored blobs). */
  revived?: string[];
  /** Outputs that keep a copy of what the run replaces, for the generation before (see RunRecord). */
  preserved?: string[];
  /** A rollback: the id of the generation it put back. */
  restored?: number;
  /**
   * Reads the committed pointer documents of parts the run did not read (see unreadParts), so
   * the record can be reconciled where the newest generation changed something.
   */
  readParts?(parts: readonly string[]): Promise<Snapshot>;
}

export interface SectionsOutcome {
  changes: SectionChanges;
  outputs: OutputFile[];
  /** Garbage no history holds back. */
  garbage: string[];
  /** One per record the run's sections belong to (the channel's, the driver tree's). */
  history: HistoryIntent[];
  cleanup(): Promise<void>;
}

/** One record's view of some section results: their snapshots merged, their garbage by part. */
export function historyOf(
  results: readonly (SectionResult & { kind: SectionKind })[],
  record?: string,
): HistoryIntent {
  const h: HistoryIntent = { ...(record ? { record } : {}), read: {}, written: {}, dropped: {}, summary: {} };
  const preserved: string[] = [];
  for (const r of results) {
    if (!r.snapshot) continue;
    Object.assign(h.read, r.snapshot.read);
    Object.assign(h.written, r.snapshot.written);
    for (const [part, keys] of Object.entries(r.snapshot.dropped))
      h.dropped[part] = [...(h.dropped[part] ?? []), ...keys];
    preserved.push(...(r.snapshot.preserved ?? []));
    if (Object.keys(r.snapshot.written).length > 0)
      h.summary[r.kind] = r.snapshot.summary ?? {
        added: [...r.changes.added],
        removed: [...r.changes.removed],
      };
  }
  if (preserved.length > 0) h.preserved = preserved;
  return h;
}

/** The results split by the record their section belongs to: the channel's first, then shared ones. */
export function historiesOf(results: readonly (SectionResult & { kind: SectionKind })[]): HistoryIntent[] {
  const recordOf = (kind: SectionKind) => SECTIONS.find((s) => s.kind === kind)?.historyRecord;
  const records = [...new Set(results.map((r) => recordOf(r.kind)))];
  return records.map((rec) =>
    historyOf(
      results.filter((r) => recordOf(r.kind) === rec),
      rec,
    ),
  );
}

/** Reads parts through the sections that own them (by kind); parts no section reads are left out. */
export function partsReader(ctx: SectionContext): (parts: readonly string[]) => Promise<Snapshot> {
  return async (parts) => {
    const out: Snapshot = {};
    for (const s of SECTIONS) {
      const own = parts.filter((p) => kindOf(p) === s.kind);
      if (own.length > 0 && s.readSnapshot)
        Object.assign(out, await s.readSnapshot(ctx, own, { checkOnly: true }));
    }
    return out;
  };
}

/** Garbage of results no history covers (every key not held back by part). */
export function unheldGarbage(
  results: readonly SectionResult[],
  histories: readonly HistoryIntent[],
): string[] {
  const held = new Set(histories.flatMap((h) => Object.values(h.dropped).flat()));
  return results.flatMap((r) => r.garbage).filter((k) => !held.has(k));
}

/**
 * Every section in turn: its part of the input, its state read through its pointer, its build.
 * A section with nothing in the input reads nothing. A state in `read` is used as it is: a change
 * that decided what to do from the state (retention) builds on exactly what it decided on, and
 * on an optimistic target that first read is the version every write is conditional on.
 */
export async function runSections(
  ctx: SectionContext,
  input: SectionInput,
  read: Partial<Record<SectionKind, unknown>> = {},
): Promise<SectionsOutcome> {
  const changes = {} as SectionChanges;
  for (const s of SECTIONS) changes[s.kind] = { added: [], removed: [], unchanged: [] };
  const results: (SectionResult & { kind: SectionKind })[] = [];
  const cleanup = async () => {
    for (const r of results) await r.cleanup?.();
  };
  try {
    for (const section of SECTIONS) {
      const scope = section.scope(input);
      if (scope === undefined) continue;
      const state = section.kind in read ? read[section.kind] : await section.readState(ctx, scope);
      const result = await section.build(ctx, state, scope, input);
      results.push({ ...result, kind: section.kind });
      changes[section.kind] = result.changes;
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  const history = historiesOf(results).map((h) => ({ ...h, readParts: partsReader(ctx) }));
  return {
    changes,
    outputs: results.flatMap((r) => r.outputs),
    garbage: unheldGarbage(results, history),
    history,
    cleanup,
  };
}
