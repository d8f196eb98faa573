import { ConflictError } from '../errors.js';
import { readArtifacts } from '../artifacts/read-pool.js';
import { readRpmHeadersAll } from '../artifacts/read-rpm.js';
import { binSection, driverSection } from './bin-drivers-sections.js';
import { GARBAGE_KEY, parsePendingGarbage, renderPendingGarbage, scheduleGarbage } from './garbage.js';
import { bytesFile } from './output-file.js';
import { findArtifacts, type ScanOptions } from '../artifacts/scan.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Artifact, DebArtifact, RpmArtifact, RpmHeaders } from '../artifacts/types.js';
import { type CdnInvalidator, type CdnOutcome, invalidateApplied } from '../cdn/invalidator.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { aptSnippets, keyFiles } from '../repos/apt/apt-extras.js';
import { type AptRemoval, buildApt, distsPrefix } from '../repos/apt/build-apt.js';
import { readAptState } from '../repos/apt/read-apt-state.js';
import { buildYum, needsPkgid, selectYumChanges } from '../repos/yum/build-yum.js';
import { readYumState, repodataPrefix } from '../repos/yum/read-yum-state.js';
import { repomdPointerFiles } from '../repos/yum/sign-repomd.js';
import {
  hashedRpms,
  type PreparedRpm,
  prepareSignedRpms,
  preparedAllAsIs,
} from '../repos/yum/sign-rpm-file.js';
import { yumRepoFile } from '../repos/yum/yum-extras.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type ApplyProgress, applyPlan } from './apply.js';
import { makePlan, type Plan } from './plan.js';
import { probeExisting } from './probe.js';
import { Spill } from './spill.js';
import { addListings } from './with-listings.js';
import { blobSignatures, SignatureDigests, signedReleaseFiles } from './sign-outputs.js';
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
  /**
   * Objects no pointer reaches any more are deleted only once they have been garbage this long
   * (recorded in .pkgpub-garbage.json); 0 deletes them in the same publish.
   */
  gcGraceMs?: number;
  /** yum: sign each rpm with the project key (default: whenever a signer is given). */
  signRpms?: boolean;
  /** yum: replace an rpm signature made by another key instead of refusing. */
  resign?: boolean;
  now?: Date;
  concurrency?: number;
  scan?: ScanOptions;
  progress?: ApplyProgress & {
    /** Each artifact read; an rpm that will be signed is read for its headers only (no digests). */
    onRead?(a: Artifact | RpmHeaders): void;
    onStep?(line: string): void;
  };
  /**
   * Plans of earlier attempts of this publish that met a conflict (publish-locked.ts): their
   * folders' listings are re-rendered too, since what they wrote may already be in place.
   */
  relist?: Plan[];
  /** After an apply, the paths it changed in place are invalidated here (a failure is reported, not thrown). */
  cdn?: CdnInvalidator;
}

/** A conflict met while applying, with the plan that was being applied. */
export type AttemptConflict = ConflictError & { plan?: Plan };

export interface PublishResult {
  changes: { apt: ChangeSummary; yum: ChangeSummary; bin: ChangeSummary; drivers: ChangeSummary };
  plan: Plan;
  applied?: { written: number; deleted: number; bytes: number };
  /** Absent when no CDN is configured or nothing cached went stale. */
  cdn?: CdnOutcome;
}

/**
 * The whole pipeline: read artifacts, read the target's state, build, sign, plan, apply.
 * Everything before apply is free of writes, which is what makes --dry-run exact.
 */
export async function publish(req: PublishRequest): Promise<PublishResult> {
  const spill = new Spill();
  let built: BuiltSections | undefined;
  try {
    built = await buildSections(req, spill);
    return await finish(req, built.outputs, built.garbage, spill, { changes: built.changes });
  } finally {
    await spill.cleanup();
    await built?.cleanup();
  }
}

interface BuiltSections {
  outputs: OutputFile[];
  garbage: string[];
  changes: PublishResult['changes'];
  /** Removes the signed rpm copies once they are uploaded (or the run failed). */
  cleanup(): Promise<void>;
}

/**
 * Reads the artifacts and builds every repository's outputs. The artifacts end here: what the
 * plan, the listings and apply need is in the outputs, so a 100,000-driver publish does not keep
 * 100,000 read artifacts alive while it renders listings.
 */
async function buildSections(req: PublishRequest, spill: Spill): Promise<BuiltSections> {
  const now = req.now ?? new Date();
  const step = (l: string) => req.progress?.onStep?.(l);
  const found = await findArtifacts(req.inputs);
  // Readers hash every byte anyway; with the template they also yield each .asc's digest.
  const digests = new SignatureDigests(req.signer?.prehashTemplate());
  const scan: ScanOptions = { ...req.scan, ...(digests.template ? { prehash: digests.template } : {}) };
  // An rpm that will be signed is hashed as its signed copy is written (sign-rpm-file.ts); reading
  // it in full here too was a second pass over every byte. Its headers are enough to decide.
  const signingRpms = Boolean(req.signer) && req.signRpms !== false;
  const rpmHeadersOnly = signingRpms ? found.filter((f) => f.kind === 'rpm').map((f) => f.path) : [];
  const artifacts = await readArtifacts(
    signingRpms ? found.filter((f) => f.kind !== 'rpm') : found,
    scan,
    req.progress?.onRead,
  );
  for (const a of artifacts) digests.add(a.sha256, a.signatureDigest);
  const rpmHeaders = await readRpmHeadersAll(rpmHeadersOnly, req.progress?.onRead);
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
      if (req.signer) outputs.push(...(await blobSignatures(apt.blobs, req.signer, digests)));
      outputs.push(...(await signedReleaseFiles(distsPrefix(req.cfg), apt.release!, req.signer)));
      outputs.push(...(await aptSnippets(req.cfg, Boolean(req.signer))));
      garbage.push(...apt.garbage);
    } else {
      step('apt: nothing changed');
    }
  }

  const yum = await yumSection(req, [...artifacts.filter(isRpm), ...rpmHeaders], now, step, digests);
  outputs.push(...yum.outputs);
  garbage.push(...yum.garbage);
  try {
    const bin = await binSection(req, artifacts, now, digests);
    const drivers = await driverSection(req, artifacts, now, spill.open);
    for (const part of [bin, drivers]) {
      outputs.push(...part.outputs);
      garbage.push(...part.garbage);
    }
    // Big indexes (a 100k-driver version json is ~50 MB) wait for apply on disk, not in memory.
    await spill.files(outputs);
    return {
      outputs,
      garbage,
      changes: { apt: aptChanges, yum: yum.changes, bin: bin.changes, drivers: drivers.changes },
      cleanup: yum.cleanup,
    };
  } catch (err) {
    await yum.cleanup();
    throw err;
  }
}

async function finish(
  req: PublishRequest,
  outputs: OutputFile[],
  garbage: string[],
  spill: Spill,
  partial: Omit<PublishResult, 'plan' | 'applied'>,
): Promise<PublishResult> {
  if (req.signer && outputs.length > 0) {
    outputs.push(...keyFiles(req.cfg, req.signer.fingerprint, req.signer.publicKeyArmored()));
  }
  // Collection runs only with a publish that changes something, so a no-op republish writes nothing.
  let toDelete = garbage;
  if (outputs.length > 0 && (req.gcGraceMs ?? 0) > 0) {
    const pending = parsePendingGarbage(await req.store.get(GARBAGE_KEY));
    const referenced = new Set(outputs.map((o) => o.key));
    const sched = scheduleGarbage(pending, garbage, referenced, req.now ?? new Date(), req.gcGraceMs ?? 0);
    toDelete = sched.deleteNow;
    if (renderPendingGarbage(sched.pending) !== renderPendingGarbage(pending))
      outputs.push(bytesFile(GARBAGE_KEY, 'listing', renderPendingGarbage(sched.pending)));
  }

  const existing = await probeExisting(req.store, outputs);
  const plan = makePlan(outputs, existing, toDelete, { force: req.force ?? false });
  // Listings last: only the folders this plan changes are re-rendered, from their listing.json.
  await addListings(plan, {
    store: req.store,
    cfg: req.cfg,
    now: req.now ?? new Date(),
    ...(req.signer ? { fingerprint: req.signer.fingerprint } : {}),
    ...(req.relist ? { relist: req.relist } : {}),
    open: spill.open,
  });
  const result: PublishResult = { ...partial, plan };
  if (req.dryRun) return result;
  try {
    result.applied = await applyPlan(plan, req.store, {
      ...(req.concurrency ? { concurrency: req.concurrency } : {}),
      ...(req.progress ? { progress: req.progress } : {}),
    });
  } catch (err) {
    // The retry after a conflict needs to know what this attempt may already have written.
    if (err instanceof ConflictError) (err as AttemptConflict).plan = plan;
    throw err;
  }
  const cdn = req.cdn ? await invalidateApplied(req.cdn, plan, req.relist) : undefined;
  if (cdn) result.cdn = cdn;
  return result;
}

function isRpm(a: Artifact): a is RpmArtifact {
  return a.kind === 'rpm';
}

// ---- yum (issue 4): rpms (signed into a temp dir), repodata, repomd.xml.asc then repomd.xml, the .repo file ----
interface YumSectionResult {
  changes: ChangeSummary;
  outputs: OutputFile[];
  garbage: string[];
  /** Removes the signed copies once they are uploaded (or the run failed). */
  cleanup(): Promise<void>;
}

async function yumSection(
  req: PublishRequest,
  read: RpmHeaders[],
  now: Date,
  step: (l: string) => void,
  digests: SignatureDigests,
): Promise<YumSectionResult> {
  const none: YumSectionResult = {
    changes: { added: [], removed: [], unchanged: [] },
    outputs: [],
    garbage: [],
    cleanup: async () => {},
  };
  if (read.length === 0 && (req.removals?.length ?? 0) === 0) return none;
  step(`reading yum state from ${req.store.description}`);
  const state = await readYumState(req.store, req.cfg);
  const need = needsPkgid(state, read);
  const hashed = new Map((await hashedRpms(need, digests.template)).map((a, i) => [need[i], a]));
  const rpms = read.map((r) => hashed.get(r) ?? r);
  const inputs = rpms.map((rpm) => ({ rpm, headerSha256: rpm.headerSha256 }));
  const selection = selectYumChanges({
    cfg: req.cfg,
    state,
    rpms: inputs,
    removals: req.removals ?? [],
    force: req.force ?? false,
  });
  const rpmSigner = req.signRpms === false ? undefined : req.signer;
  let temp: string | undefined;
  const cleanup = async () => {
    if (temp) await rm(temp, { recursive: true, force: true });
  };
  try {
    let prepared: PreparedRpm[];
    if (rpmSigner && selection.add.length > 0) {
      temp = await mkdtemp(join(tmpdir(), 'pkgpub-rpms-'));
      const opts = {
        signer: rpmSigner,
        tempDir: temp,
        resign: req.resign ?? false,
        ...(digests.template ? { prehash: digests.template } : {}),
      };
      step(`yum: signing ${selection.add.length} rpm(s)`);
      prepared = await prepareSignedRpms(selection.add, opts);
    } else {
      prepared = await preparedAllAsIs(selection.add, digests.template);
    }
    for (const p of prepared) digests.add(p.sha256, p.signatureDigest);
    const yum = await buildYum({ cfg: req.cfg, state, selection, prepared, now });
    if (!yum.changed) {
      step('yum: nothing changed');
      await cleanup();
      return { ...none, changes: selection.changes };
    }
    step(`yum: ${selection.changes.added.length} added, ${selection.changes.removed.length} removed`);
    const outputs: OutputFile[] = [...yum.blobs, ...yum.files];
    if (req.signer) outputs.push(...(await blobSignatures(yum.blobs, req.signer, digests)));
    outputs.push(...(await repomdPointerFiles(repodataPrefix(req.cfg), yum.repomd!, req.signer)));
    outputs.push(await yumRepoFile(req.cfg, { signed: Boolean(req.signer), rpmsSigned: Boolean(rpmSigner) }));
    return { changes: selection.changes, outputs, garbage: yum.garbage, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
// ---- end yum ----
