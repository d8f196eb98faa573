import type { DebArtifact } from '../../artifacts/types.js';
import type { Section } from '../section.js';
import { blobSignatures, signedReleaseFiles } from '../sign-outputs.js';
import { aptSnippets } from './apt-extras.js';
import { type AptRemoval, type AptState, buildApt, distsPrefix, type PublishedDeb } from './build-apt.js';
import { readAptState } from './read-apt-state.js';

interface AptScope {
  debs: DebArtifact[];
  removals: AptRemoval[];
  published: PublishedDeb[];
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
  async build(ctx, state, scope, input) {
    const apt = await buildApt({
      cfg: ctx.cfg,
      state,
      debs: scope.debs,
      removals: scope.removals,
      published: scope.published,
      force: ctx.force,
      now: ctx.now,
    });
    if (!apt.changed) {
      ctx.step('apt: nothing changed');
      return { changes: apt.changes, outputs: [], garbage: [] };
    }
    // Copied debs bring their own .asc; only the debs read from disk are signed here.
    ctx.step(`apt: ${apt.changes.added.length} added, ${apt.changes.removed.length} removed`);
    const outputs = [...apt.blobs, ...apt.copies, ...apt.files];
    if (ctx.signer) outputs.push(...(await blobSignatures(apt.blobs, ctx.signer, input.digests)));
    outputs.push(...(await signedReleaseFiles(distsPrefix(ctx.cfg), apt.release!, ctx.signer)));
    outputs.push(...(await aptSnippets(ctx.cfg, Boolean(ctx.signer))));
    return { changes: apt.changes, outputs, garbage: apt.garbage };
  },
};
