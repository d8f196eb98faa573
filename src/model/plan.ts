import { ContentConflictError } from '../errors.js';
import { TIERS, type OutputFile, type Tier } from './tiers.js';

/** What the target holds for a key the publish wants to write. */
export interface Existing {
  size: number;
  sha256: string;
}

export interface PlanStep {
  action: 'put';
  file: OutputFile;
  /** Why: new, changed, or replacing a conflicting blob under --force. */
  reason: 'new' | 'changed' | 'forced';
}

export interface Plan {
  /** Writes grouped by tier, tiers in commit order. */
  tiers: { tier: Tier; steps: PlanStep[] }[];
  deletes: string[];
  /** Outputs already in place with the same bytes. */
  skipped: number;
}

/**
 * Pure: turns the wanted objects and what the target already has into ordered steps.
 * Unchanged objects are dropped; a blob that exists with other bytes is a conflict unless forced.
 */
export function makePlan(
  outputs: OutputFile[],
  existing: Map<string, Existing>,
  garbage: string[],
  opts: { force?: boolean } = {},
): Plan {
  const seen = new Set<string>();
  const tiers = TIERS.map((tier) => ({ tier, steps: [] as PlanStep[] }));
  let skipped = 0;
  for (const file of outputs) {
    if (seen.has(file.key)) throw new Error(`internal: two outputs for ${file.key}`);
    seen.add(file.key);
    const cur = existing.get(file.key);
    let reason: PlanStep['reason'] = 'new';
    if (cur) {
      if (cur.sha256 === file.sha256) {
        skipped++;
        continue;
      }
      if (file.immutable && !opts.force)
        throw new ContentConflictError(
          `${file.key} is already published with other bytes; use --force to replace it`,
        );
      reason = file.immutable ? 'forced' : 'changed';
    }
    tiers[TIERS.indexOf(file.tier)]!.steps.push({ action: 'put', file, reason });
  }
  for (const t of tiers)
    t.steps.sort((x, y) => (x.file.order ?? 0) - (y.file.order ?? 0) || cmp(x.file.key, y.file.key));
  const deletes = [...new Set(garbage)].filter((k) => !seen.has(k)).sort(cmp);
  return { tiers: tiers.filter((t) => t.steps.length > 0), deletes, skipped };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A plan as every command's `--json` prints it: each write with its tier and reason (and, for a
 * copy inside the store, its source), the deletes, and how many outputs were already in place.
 */
export function planJson(plan: Plan) {
  return {
    puts: plan.tiers.flatMap((t) =>
      t.steps.map((s) => ({
        key: s.file.key,
        tier: t.tier,
        reason: s.reason,
        size: s.file.size,
        ...('copyFrom' in s.file.body ? { copyFrom: s.file.body.copyFrom } : {}),
      })),
    ),
    deletes: plan.deletes,
    unchanged: plan.skipped,
  };
}

/** The dry-run listing: one line per PUT and DELETE, in the order apply would make them. */
export function describePlan(plan: Plan): string[] {
  const lines: string[] = [];
  for (const t of plan.tiers) {
    for (const s of t.steps)
      lines.push(
        `PUT    ${s.file.key}  (${t.tier}, ${s.reason}, ${s.file.size} bytes${'copyFrom' in s.file.body ? `, copy of ${s.file.body.copyFrom}` : ''})`,
      );
  }
  for (const d of plan.deletes) lines.push(`DELETE ${d}`);
  return lines;
}

/** A new plan with `extra`'s writes after `base`'s in each tier and both plans' deletes; neither is changed. */
export function mergePlans(base: Plan, extra: Plan): Plan {
  const tiers = TIERS.map((tier) => ({
    tier,
    steps: [
      ...(base.tiers.find((t) => t.tier === tier)?.steps ?? []),
      ...(extra.tiers.find((t) => t.tier === tier)?.steps ?? []),
    ],
  })).filter((t) => t.steps.length > 0);
  // A folder that empties out is in both: the caller's delete and the listing's.
  const deletes = [...new Set([...base.deletes, ...extra.deletes])].sort(cmp);
  return { tiers, deletes, skipped: base.skipped + extra.skipped };
}

/** True when applying the plan would change nothing. */
export function isEmptyPlan(plan: Plan): boolean {
  return plan.tiers.length === 0 && plan.deletes.length === 0;
}
