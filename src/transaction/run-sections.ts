import type { KindSummary, PartKeys, Snapshot } from '../model/history.js';
import type { ChangeSummary, OutputFile } from '../model/tiers.js';
import type { SectionContext, SectionInput, SectionKind, SectionResult } from '../repos/section.js';
import { SECTIONS } from '../repos/sections.js';

export type SectionChanges = Record<SectionKind, ChangeSummary>;

/** What a channel's history records of a run: see model/history.ts. */
export interface HistoryIntent {
  /** Pointer documents as the run read them. */
  read: Snapshot;
  /** Pointer documents the run writes. */
  written: Snapshot;
  /** Garbage held back while a kept generation names it. */
  dropped: PartKeys;
  summary: Record<string, KindSummary>;
  /** Keys the new state names that no output writes (a rollback's restored blobs). */
  revived?: string[];
  /** A rollback: the id of the generation it put back. */
  restored?: number;
}

export interface SectionsOutcome {
  changes: SectionChanges;
  outputs: OutputFile[];
  /** Garbage the channel's history does not hold back (drivers). */
  garbage: string[];
  history: HistoryIntent;
  cleanup(): Promise<void>;
}

/** The history's view of some section results: their snapshots merged, their garbage by part. */
export function historyOf(results: readonly (SectionResult & { kind: SectionKind })[]): HistoryIntent {
  const h: HistoryIntent = { read: {}, written: {}, dropped: {}, summary: {} };
  for (const r of results) {
    if (!r.snapshot) continue;
    Object.assign(h.read, r.snapshot.read);
    Object.assign(h.written, r.snapshot.written);
    for (const [part, keys] of Object.entries(r.snapshot.dropped))
      h.dropped[part] = [...(h.dropped[part] ?? []), ...keys];
    if (Object.keys(r.snapshot.written).length > 0)
      h.summary[r.kind] = { added: [...r.changes.added], removed: [...r.changes.removed] };
  }
  return h;
}

/** Garbage of results the history does not cover (every key not held back by part). */
export function unheldGarbage(results: readonly SectionResult[], history: HistoryIntent): string[] {
  const held = new Set(Object.values(history.dropped).flat());
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
  const history = historyOf(results);
  return {
    changes,
    outputs: results.flatMap((r) => r.outputs),
    garbage: unheldGarbage(results, history),
    history,
    cleanup,
  };
}
