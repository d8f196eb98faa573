import type { ChangeSummary, OutputFile } from '../model/tiers.js';
import type { SectionContext, SectionInput, SectionKind, SectionResult } from '../repos/section.js';
import { SECTIONS } from '../repos/sections.js';

export type SectionChanges = Record<SectionKind, ChangeSummary>;

export interface SectionsOutcome {
  changes: SectionChanges;
  outputs: OutputFile[];
  garbage: string[];
  cleanup(): Promise<void>;
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
  const results: SectionResult[] = [];
  const cleanup = async () => {
    for (const r of results) await r.cleanup?.();
  };
  try {
    for (const section of SECTIONS) {
      const scope = section.scope(input);
      if (scope === undefined) continue;
      const state = section.kind in read ? read[section.kind] : await section.readState(ctx, scope);
      const result = await section.build(ctx, state, scope, input);
      results.push(result);
      changes[section.kind] = result.changes;
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    changes,
    outputs: results.flatMap((r) => r.outputs),
    garbage: results.flatMap((r) => r.garbage),
    cleanup,
  };
}
