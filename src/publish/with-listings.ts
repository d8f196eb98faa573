import type { ResolvedConfig } from '../config/resolve.js';
import { buildListings } from '../site/build-site.js';
import type { ObjectStore } from '../storage/object-store.js';
import { makePlan, type Plan } from './plan.js';
import { probeExisting } from './probe.js';

/**
 * Appends to `plan` (in place) the listing tier for the folders it changes: their pages and
 * listing.json re-rendered from what is there, so every command that writes or deletes (publish,
 * remove, drivers prune) leaves browsable folders that match.
 */
export async function addListings(
  plan: Plan,
  input: { store: ObjectStore; cfg: ResolvedConfig; now: Date; fingerprint?: string },
): Promise<void> {
  if (plan.tiers.length === 0 && plan.deletes.length === 0) return;
  const site = await buildListings({ ...input, plan });
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
