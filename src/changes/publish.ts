import { readArtifacts } from '../artifacts/read-pool.js';
import { readRpmHeadersAll } from '../artifacts/read-rpm.js';
import { findArtifacts, type ScanOptions } from '../artifacts/scan.js';
import type { Artifact, RpmHeaders } from '../artifacts/types.js';
import type { CdnInvalidator, CdnOutcome } from '../cdn/invalidator.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { NothingMatchedError } from '../errors.js';
import type { Plan } from '../model/plan.js';
import { keyFilesOf, keyNames } from '../repos/apt/apt-extras.js';
import { publishedKeyIds } from '../repos/tree-signature.js';
import type { AptRemoval } from '../repos/apt/build-apt.js';
import { assertSignerFits, readKeysState } from '../repos/keys-state.js';
import type { SectionInput } from '../repos/section.js';
import { SignatureDigests } from '../repos/sign-outputs.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Applied } from '../transaction/apply.js';
import type { LeaseOptions } from '../transaction/lease.js';
import { runSections, type SectionChanges } from '../transaction/run-sections.js';
import { runTransaction, type TransactionProgress } from '../transaction/transaction.js';

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
  /** Inputs that hold no artifact are a mistake unless this is set. */
  allowEmpty?: boolean;
  progress?: TransactionProgress & {
    /** Each artifact read; an rpm that will be signed is read for its headers only (no digests). */
    onRead?(a: Artifact | RpmHeaders): void;
  };
  /** After an apply, the paths it changed in place are invalidated here (a failure is reported, not thrown). */
  cdn?: CdnInvalidator;
  lease?: Pick<LeaseOptions, 'ttlMs' | 'renewMs' | 'waitMs' | 'settleMs'>;
  /** For the lease: "publish" or "remove". */
  command?: string;
}

export interface PublishResult {
  changes: SectionChanges;
  plan: Plan;
  applied?: Applied;
  /** Absent when no CDN is configured or nothing cached went stale. */
  cdn?: CdnOutcome;
  attempts: number;
}

/**
 * Publishes artifacts (and removals) into every repository they belong to. The inputs are read
 * once, before the transaction; each attempt of the transaction reads the target's state and
 * builds the sections on it.
 */
export async function publish(req: PublishRequest): Promise<PublishResult> {
  const input = await readInputs(req);
  const tx = await runTransaction(
    {
      store: req.store,
      cfg: req.cfg,
      command: req.command ?? (req.inputs.length > 0 ? 'publish' : 'remove'),
      ...pick(req, ['dryRun', 'force', 'now', 'gcGraceMs', 'concurrency', 'cdn', 'lease', 'progress']),
      ...(req.signer ? { fingerprint: req.signer.fingerprint } : {}),
    },
    {
      async describe(ctx) {
        if (req.signer) assertSignerFits(await readKeysState(ctx.store), req.signer);
        const treeKeyIds = await publishedKeyIds(await ctx.store.get(keyNames(req.cfg, '').alias));
        const built = await runSections(
          {
            ...ctx,
            treeKeyIds,
            ...(req.signer ? { signer: req.signer } : {}),
            rpms: { sign: Boolean(req.signer) && req.signRpms !== false, resign: req.resign ?? false },
          },
          input,
        );
        // A remove that matched nothing is almost always a typo or the wrong channel; failing here,
        // before the plan, also keeps it from writing an empty repository into a channel that had none.
        if (req.removals?.length && built.changes.apt.removed.length + built.changes.yum.removed.length === 0)
          throw new NothingMatchedError(
            `remove: nothing in channel ${req.cfg.channel} of ${req.store.description} matches ` +
              `${req.removals.map((s) => (s.version ? `${s.name}=${s.version}` : s.name)).join(', ')}; nothing was written ` +
              '(check the name, the version as the index writes it, and --channel)',
          );
        const outputs = built.outputs;
        // Every change published with a key publishes that key beside it.
        if (req.signer && outputs.length > 0) outputs.push(...keyFilesOf(req.cfg, req.signer));
        return {
          outputs,
          garbage: built.garbage,
          history: built.history,
          report: built.changes,
          cleanup: built.cleanup,
        };
      },
    },
  );
  return {
    changes: tx.report,
    plan: tx.plan,
    attempts: tx.attempts,
    ...(tx.applied ? { applied: tx.applied } : {}),
    ...(tx.cdn ? { cdn: tx.cdn } : {}),
  };
}

/**
 * Reads every artifact once. Readers hash every byte anyway; with the signer's template they also
 * yield each .asc's digest. An rpm that will be signed is hashed as its signed copy is written
 * (sign-rpm-file.ts), so here only its headers are read.
 */
async function readInputs(req: PublishRequest): Promise<SectionInput> {
  const found = await findArtifacts(req.inputs);
  if (req.inputs.length > 0 && found.length === 0 && !req.allowEmpty)
    throw new NothingMatchedError(
      `no artifacts in ${req.inputs.join(', ')}: pkgpub publishes .deb, .rpm, .tar.gz and driver .ko/.o files ` +
        '(drivers inside <driver_version>/<arch>/ folders); check the path or glob, or pass --allow-empty to publish nothing',
    );
  const digests = new SignatureDigests(req.signer?.prehashTemplate());
  const scan: ScanOptions = { ...req.scan, ...(digests.template ? { prehash: digests.template } : {}) };
  const signingRpms = Boolean(req.signer) && req.signRpms !== false;
  const artifacts = await readArtifacts(
    signingRpms ? found.filter((f) => f.kind !== 'rpm') : found,
    scan,
    req.progress?.onRead,
  );
  for (const a of artifacts) digests.add(a.sha256, a.signatureDigest);
  const rpmHeaders = signingRpms
    ? await readRpmHeadersAll(
        found.filter((f) => f.kind === 'rpm').map((f) => f.path),
        req.progress?.onRead,
      )
    : [];
  return { artifacts, rpmHeaders, removals: req.removals ?? [], digests };
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
