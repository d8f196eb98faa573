import type { DebArtifact } from '../../artifacts/types.js';
import { ContentConflictError } from '../../errors.js';
import type { ChangeSummary } from '../../model/tiers.js';
import { checkBlobs } from '../restore-check.js';
import type { RestoreResult, Section, SectionResult } from '../section.js';
import { blobSignatures, signedReleaseFiles } from '../sign-outputs.js';
import { assertSignerOfPointer } from '../tree-signature.js';
import { aptSnippets } from './apt-extras.js';
import { type AptRemoval, type AptState, buildApt, distsPrefix, type PublishedDeb } from './build-apt.js';
import type { AptEntry } from './packages-index.js';
import { aptSnapshotText, readAptPointer, readAptState, readAptStateAt } from './read-apt-state.js';

interface AptScope {
  debs: DebArtifact[];
  removals: AptRemoval[];
  published: PublishedDeb[];
}

/** filename -> entry, over every component and arch (an `all` deb sits in each arch's index). */
function byFilename(state: AptState): Map<string, AptEntry> {
  const out = new Map<string, AptEntry>();
  for (const entries of state.indexes.values()) for (const e of entries) out.set(e.filename, e);
  return out;
}

function labels(state: AptState): Map<string, AptEntry> {
  const out = new Map<string, AptEntry>();
  for (const entries of state.indexes.values())
    for (const e of entries) out.set(`${e.name} ${e.version} ${e.arch}`, e);
  return out;
}

/** The apt repository: pool debs + .asc, Packages and by-hash, Release → Release.gpg → InRelease. */
export const aptSection: Section<AptScope, AptState> = {
  kind: 'apt',
  scope(input) {
    const debs = input.artifacts.filter((a): a is DebArtifact => a.kind === 'deb');
    const removals = input.removals.filter((r) => r.kind === undefined || r.kind === 'deb');
    const published = [...(input.promoted?.debs ?? [])];
    return debs.length > 0 || removals.length > 0 || published.length > 0
      ? { debs, removals, published }
      : undefined;
  },
  async readState(ctx) {
    ctx.step(`reading apt state from ${ctx.store.description}`);
    return readAptState(ctx.store, ctx.cfg);
  },
  async build(ctx, state, scope, input): Promise<SectionResult> {
    const apt = await buildApt({
      cfg: ctx.cfg,
      state,
      debs: scope.debs,
      removals: scope.removals,
      published: scope.published,
      force: ctx.force,
      now: ctx.now,
    });
    assertSignerOfPointer(`${distsPrefix(ctx.cfg)}/InRelease`, state.signedBy, ctx.signer, ctx.treeKeyIds);
    const read = { apt: state.release };
    if (!apt.changed) {
      ctx.step('apt: nothing changed');
      return { changes: apt.changes, outputs: [], garbage: [], snapshot: { read, written: {}, dropped: {} } };
    }
    // Copied debs bring their own .asc; only the debs read from disk are signed here.
    ctx.step(`apt: ${apt.changes.added.length} added, ${apt.changes.removed.length} removed`);
    const outputs = [...apt.blobs, ...apt.copies, ...apt.files];
    if (ctx.signer) outputs.push(...(await blobSignatures(apt.blobs, ctx.signer, input.digests)));
    outputs.push(...(await signedReleaseFiles(distsPrefix(ctx.cfg), apt.release!, ctx.signer)));
    outputs.push(...(await aptSnippets(ctx.cfg, Boolean(ctx.signer))));
    return {
      changes: apt.changes,
      outputs,
      garbage: apt.garbage,
      snapshot: { read, written: { apt: aptSnapshotText(apt.release!) }, dropped: { apt: apt.garbage } },
    };
  },
  async readSnapshot(ctx) {
    return { apt: await readAptPointer(ctx.store, ctx.cfg) };
  },
  readStateAt(ctx, snapshot) {
    return readAptStateAt(ctx.store, ctx.cfg, snapshot.apt ?? '');
  },
  async restore(ctx, current, target): Promise<RestoreResult> {
    const { cfg } = ctx;
    const pool = cfg.prefixes.deb;
    const now = byFilename(current.state);
    const then = byFilename(target.state);
    for (const [f, e] of then) {
      const cur = now.get(f);
      if (cur && cur.sha256 !== e.sha256)
        throw new ContentConflictError(
          `cannot roll back apt: ${pool}/${f} was published again with other bytes since that generation (--force), so its old bytes are gone`,
        );
    }
    const back = [...then.values()].filter((e) => !now.has(e.filename));
    await checkBlobs(
      ctx.store,
      back.map((e) => ({
        key: `${pool}/${e.filename}`,
        sha256: e.sha256,
        size: e.size,
        asc: Boolean(ctx.signer),
      })),
      `apt of channel ${cfg.channel}`,
    );
    const gone = [...now.keys()]
      .filter((f) => !then.has(f))
      .flatMap((f) => [`${pool}/${f}`, `${pool}/${f}.asc`]);
    const nowLabels = labels(current.state);
    const thenLabels = labels(target.state);
    const changes: ChangeSummary = {
      added: [...thenLabels].filter(([l, e]) => nowLabels.get(l)?.sha256 !== e.sha256).map(([l]) => l),
      removed: [...nowLabels].filter(([l, e]) => thenLabels.get(l)?.sha256 !== e.sha256).map(([l]) => l),
      unchanged: [],
    };
    // The target's indexes on the current generations: Release and by-hash continue from now.
    const apt = await buildApt({
      cfg,
      state: { ...current.state, indexes: target.state.indexes },
      debs: [],
      now: ctx.now,
    });
    if (!apt.changed)
      return {
        changes,
        outputs: [],
        garbage: [],
        revived: [],
        snapshot: { read: current.snapshot, written: {}, dropped: {} },
      };
    const outputs = [...apt.files];
    outputs.push(...(await signedReleaseFiles(distsPrefix(cfg), apt.release!, ctx.signer)));
    outputs.push(...(await aptSnippets(cfg, Boolean(ctx.signer))));
    const garbage = [...new Set([...apt.garbage, ...gone])];
    return {
      changes,
      outputs,
      garbage,
      revived: back.flatMap((e) => [`${pool}/${e.filename}`, `${pool}/${e.filename}.asc`]),
      snapshot: {
        read: current.snapshot,
        written: { apt: aptSnapshotText(apt.release!) },
        dropped: { apt: garbage },
      },
    };
  },
};
