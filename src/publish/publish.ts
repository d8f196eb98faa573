import { readArtifacts } from '../artifacts/read-pool.js';
import { findArtifacts, type ScanOptions } from '../artifacts/scan.js';
import type { Artifact, DebArtifact } from '../artifacts/types.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { aptSnippets, keyFiles } from '../repos/apt/apt-extras.js';
import { type AptRemoval, buildApt, distsPrefix } from '../repos/apt/build-apt.js';
import { readAptState } from '../repos/apt/read-apt-state.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type ApplyProgress, applyPlan } from './apply.js';
import { makePlan, type Plan } from './plan.js';
import { probeExisting } from './probe.js';
import { blobSignatures, signedReleaseFiles } from './sign-outputs.js';
import type { ChangeSummary, OutputFile } from './types.js';

export interface PublishRequest {
  inputs: string[];
  store: ObjectStore;
  cfg: ResolvedConfig;
  /** Absent only for --unsigned. */
  signer?: Signer;
  removals?: AptRemoval[];
  dryRun?: boolean;
  force?: boolean;
  now?: Date;
  concurrency?: number;
  scan?: ScanOptions;
  progress?: ApplyProgress & { onRead?(a: Artifact): void; onStep?(line: string): void };
}

export interface PublishResult {
  artifacts: Artifact[];
  changes: { apt: ChangeSummary };
  plan: Plan;
  applied?: { written: number; deleted: number; bytes: number };
}

/**
 * The whole pipeline: read artifacts, read the target's state, build, sign, plan, apply.
 * Everything before apply is free of writes, which is what makes --dry-run exact.
 */
export async function publish(req: PublishRequest): Promise<PublishResult> {
  const now = req.now ?? new Date();
  const step = (l: string) => req.progress?.onStep?.(l);
  const found = await findArtifacts(req.inputs);
  const artifacts = await readArtifacts(found, req.scan, req.progress?.onRead);
  const debs = artifacts.filter((a): a is DebArtifact => a.kind === 'deb');

  const outputs: OutputFile[] = [];
  const garbage: string[] = [];
  let aptChanges: ChangeSummary = { added: [], removed: [], unchanged: [] };
  if (debs.length > 0 || (req.removals?.length ?? 0) > 0) {
    step(`reading apt state from ${req.store.description}`);
    const state = await readAptState(req.store, req.cfg);
    const apt = await buildApt({
      cfg: req.cfg,
      state,
      debs,
      removals: req.removals ?? [],
      force: req.force ?? false,
      now,
    });
    aptChanges = apt.changes;
    if (apt.changed) {
      step(`apt: ${apt.changes.added.length} added, ${apt.changes.removed.length} removed`);
      outputs.push(...apt.blobs, ...apt.files);
      if (req.signer) outputs.push(...(await blobSignatures(apt.blobs, req.signer)));
      outputs.push(...(await signedReleaseFiles(distsPrefix(req.cfg), apt.release!, req.signer)));
      outputs.push(...(await aptSnippets(req.cfg, Boolean(req.signer))));
      garbage.push(...apt.garbage);
    } else {
      step('apt: nothing changed');
    }
  }
  if (req.signer && outputs.length > 0) {
    outputs.push(...keyFiles(req.cfg, req.signer.fingerprint, req.signer.publicKeyArmored()));
  }

  const existing = await probeExisting(req.store, outputs);
  const plan = makePlan(outputs, existing, garbage, { force: req.force ?? false });
  const result: PublishResult = { artifacts, changes: { apt: aptChanges }, plan };
  if (req.dryRun) return result;
  result.applied = await applyPlan(plan, req.store, {
    concurrency: req.concurrency ?? 4,
    ...(req.progress ? { progress: req.progress } : {}),
  });
  return result;
}
