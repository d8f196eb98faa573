import type { ResolvedConfig } from '../config/resolve.js';
import { isEmptyPlan, makePlan, type Plan, type PlanStep } from '../model/plan.js';
import type { OpenOutput } from '../model/text-output.js';
import { TIERS } from '../model/tiers.js';
import { buildListings } from '../site/build-site.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';
import { probeExisting } from './probe.js';

/**
 * The listing tier for the folders `plan` changes: their pages and listing.json re-rendered from
 * what is there, so every change to the tree leaves browsable folders that match. `earlier`: plans
 * of attempts of this run that met a conflict, whose writes may already be in place.
 */
export async function listingPlan(
  plan: Plan,
  input: {
    store: ObjectStore;
    cfg: ResolvedConfig;
    now: Date;
    fingerprint?: string;
    earlier: readonly Plan[];
    /** Where pages and listing.json files are written as they are rendered (big ones to temp files). */
    open?: OpenOutput;
    /** The tree as the change listed it in this attempt (see Intent.listed). */
    listed?: readonly ObjectInfo[];
  },
): Promise<Plan | undefined> {
  const { earlier, ...rest } = input;
  const basis = earlier.length ? withEarlier(plan, earlier) : plan;
  if (isEmptyPlan(basis)) return undefined;
  const site = await buildListings({ ...rest, plan: basis });
  return makePlan(site.files, await probeExisting(input.store, site.files), site.deletes);
}

/**
 * The folders `plan` changes plus those earlier attempts changed, their writes first so this
 * attempt's own win (their listing tiers left out: those are what is being redone).
 */
function withEarlier(plan: Plan, earlier: readonly Plan[]): Plan {
  const steps = new Map<string, PlanStep>();
  for (const p of [...earlier, plan])
    for (const t of p.tiers) if (t.tier !== 'listing') for (const s of t.steps) steps.set(s.file.key, s);
  const deletes = new Set([...earlier.flatMap((p) => p.deletes), ...plan.deletes]);
  for (const k of steps.keys()) deletes.delete(k);
  return {
    tiers: TIERS.map((tier) => ({
      tier,
      steps: [...steps.values()].filter((s) => s.file.tier === tier),
    })).filter((t) => t.steps.length > 0),
    deletes: [...deletes].sort(),
    skipped: plan.skipped,
  };
}
