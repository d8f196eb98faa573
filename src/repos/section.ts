import type { Artifact, RpmHeaders } from '../artifacts/types.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { KindSummary, PartKeys, Snapshot } from '../model/history.js';
import type { OpenOutput } from '../model/text-output.js';
import type { ChangeSummary, OutputFile } from '../model/tiers.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AptRemoval, PublishedDeb } from './apt/build-apt.js';
import type { PublishedTarball } from './bin/build-bin.js';
import type { PublishedRpm } from './yum/build-yum.js';
import type { SignatureDigests } from './sign-outputs.js';

/** The kinds of repository a tree holds; each is one folder under repos/ with one Section. */
export type SectionKind = 'apt' | 'yum' | 'bin' | 'drivers';

/** What a run was asked to change. Read once per run: an attempt that is retried reuses it. */
export interface SectionInput {
  artifacts: readonly Artifact[];
  /** Rpms that will be signed, read for their lead and headers only (hashed as the signed copy is written). */
  rpmHeaders: readonly RpmHeaders[];
  /**
   * `pkgpub remove NAME[=VERSION]`: apt and yum drop these. Retention's name their kind and arch
   * (and a tarball's file), so each reaches only its own repository.
   */
  removals: readonly AptRemoval[];
  /** Signature digests the read pass computed, keyed by the sha256 of the bytes they cover. */
  digests: SignatureDigests;
  /** Packages already published in another channel of the tree, to carry over as they are. */
  promoted?: PromotedInput;
}

/**
 * What `pkgpub promote` hands the sections: records read back from the source channel's own
 * indexes, never local files. Their objects are copied inside the store, their `.asc` with them;
 * nothing is rebuilt or signed again but the target's indexes.
 */
export interface PromotedInput {
  debs: readonly PublishedDeb[];
  rpms: readonly PublishedRpm[];
  tarballs: readonly PublishedTarball[];
  /** Whether the source's rpms carry the project's signature (its .repo file has gpgcheck=1). */
  rpmsSigned: boolean;
}

/** One attempt's view of the target, and the run's settings. */
export interface SectionContext {
  /** The attempt's store: on an optimistic target, every state file read here is written back conditionally. */
  store: ObjectStore;
  cfg: ResolvedConfig;
  /** One time for the whole run: Release Date, repomd revision, driver index times. */
  now: Date;
  /** Absent only for --unsigned. */
  signer?: Signer;
  force: boolean;
  /** Where big generated documents are written as they are encoded (the transaction's spill). */
  open: OpenOutput;
  /** yum: sign each rpm with the project key; replace another key's rpm signature. */
  rpms: { sign: boolean; resign: boolean };
  /**
   * Key ids (primary and subkeys) of the keys the tree publishes in `keys/<project>-packages.asc`:
   * a pointer signed by none of them was signed by another tool, and a signed publish takes it
   * over as adopt does. Unset: every signed pointer counts as the tree's own.
   */
  treeKeyIds?: string[];
  step(line: string): void;
}

export interface SectionResult {
  changes: ChangeSummary;
  /** Every object the section wants in the tree, its signatures and pointers included. */
  outputs: OutputFile[];
  /** Keys this section's new state no longer references (deleted after the garbage grace). */
  garbage: string[];
  /** Removes temp files the outputs point at, once they are applied (or the attempt failed). */
  cleanup?(): Promise<void>;
  /** Sections a history covers (apt, yum, bin: the channel's; drivers: their own): pointer documents by part. */
  snapshot?: SectionSnapshot;
}

/**
 * What a build started from and what it leaves, as pointer documents by part ('apt', 'yum',
 * 'bin/<arch>'; 'drivers' and 'drivers/<version>'; '' where there is no pointer): the history
 * records them.
 */
export interface SectionSnapshot {
  /** As read through the pointers in this attempt. */
  read: Snapshot;
  /** The parts this result writes (none when nothing changed). */
  written: Snapshot;
  /** The result's garbage by part: held back while a kept generation names it. */
  dropped: PartKeys;
  /**
   * Outputs that keep a copy of a document this result replaces (a driver version json, too big to
   * sit in the record): in `dropped`, named by the generation before only (model/history.ts).
   */
  preserved?: string[];
  /** What the record keeps of the change, where `changes` is too long for it (drivers). */
  summary?: KindSummary;
}

/** A rollback's build: also the keys the restored state names that the current one does not. */
export interface RestoreResult extends SectionResult {
  revived: string[];
}

export const NO_CHANGES = (): ChangeSummary => ({ added: [], removed: [], unchanged: [] });

/**
 * One kind of repository. The transaction asks each section, in turn, which part of the input is
 * its own, reads its state through its pointer (so a half-finished earlier run is never taken for
 * the state), and builds: merged indexes, signatures, pointers, garbage. A section never writes.
 */
export interface Section<Scope = unknown, State = unknown> {
  readonly kind: SectionKind;
  /**
   * The history record this section's parts go to when it is not the channel's: drivers are
   * shared by every channel and keep their own (`.pkgpub-history/drivers.json`).
   */
  readonly historyRecord?: string;
  /** This section's part of the input; undefined when it has nothing to do in this run. */
  scope(input: SectionInput): Scope | undefined;
  readState(ctx: SectionContext, scope: Scope): Promise<State>;
  build(ctx: SectionContext, state: State, scope: Scope, input: SectionInput): Promise<SectionResult>;
  /**
   * Rollback (sections a history covers). The committed pointer documents of `parts` (bin:
   * `bin/<arch>`; drivers: `drivers` and `drivers/<version>`; apt and yum have one part each).
   * `checkOnly`: only compared with the record (see unreadParts), never written back, so a digest
   * the backend keeps may stand in for reading a big document.
   */
  readSnapshot?(
    ctx: SectionContext,
    parts: readonly string[],
    opts?: { checkOnly?: boolean },
  ): Promise<Snapshot>;
  /** The state `snapshot` describes, read through the files it names (a kept generation's or the current). */
  readStateAt?(ctx: SectionContext, snapshot: Snapshot): Promise<State>;
  /**
   * Builds `target` again as a new generation on top of `current` (fresh dates and signatures, so
   * clients take it): what current names and target does not becomes garbage; what target names
   * is checked to be still in the tree, with the bytes it names.
   */
  restore?(
    ctx: SectionContext,
    current: { state: State; snapshot: Snapshot },
    target: { state: State; snapshot: Snapshot },
  ): Promise<RestoreResult>;
}
