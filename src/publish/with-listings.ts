import type { ResolvedConfig } from '../config/resolve.js';
import { buildListings } from '../site/build-site.js';
import type { ObjectStore } from '../storage/object-store.js';
import { makePlan, type Plan, type PlanStep } from './plan.js';
import { probeExisting } from './probe.js';
import type { OpenOutput } from './text-output.js';
import { TIERS } from './types.js';

/**
 * Appends to `plan` (in place) the listing tier for the folders it changes: their pages and
 * listing.json re-rendered from what is there, so every command that writes or deletes (publish,
 * remove, drivers prune) leaves browsable folders that match.
 */
export async function addListings(
  plan: Plan,
  input: {
    store: ObjectStore;
    cfg: ResolvedConfig;
    now: Date;
    fingerprint?: string;
    relist?: Plan[];
    /** Where pages and listing.json files are written as they are rendered (publish/spill.ts: big ones to temp files). */
    open?: OpenOutput;
  },
): Promise<void> {
  const { relist, ...rest } = input;
  const basis = relist?.length ? withEarlier(plan, relist) : plan;
  if (basis.tiers.length === 0 && basis.deletes.length === 0) return;
  const site = await buildListings({ ...rest, plan: basis });
  const sitePlan = makePlan(site.files, await probeExisting(input.store, site.files), site.deletes);
  for (const t of sitePlan.tiers) {
    const mine = plan.tiers.find((x) => x.tier === t.tier);
    if (mine) mine.steps.push(...t.steps);
    else plan.tiers.push(t);
  }
  // A folder that empties out is both in the caller's deletes and in the listing's.
  plan.deletes = [...new Set([...plan.deletes, ...sitePlan.deletes])].sort();
  plan.skipped += sitePlan.skipped;
}

/**
 * The folders `plan` changes plus those earlier attempts changed, their writes first so this
 * attempt's own win (their listing tiers left out: those are what is being redone).
 */
function withEarlier(plan: Plan, earlier: Plan[]): Plan {
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
