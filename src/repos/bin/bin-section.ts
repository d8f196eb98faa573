import type { TarballArtifact } from '../../artifacts/types.js';
import type { Section } from '../section.js';
import { blobSignatures } from '../sign-outputs.js';
import { type BinState, binSumsSignatures, buildBin, type PublishedTarball } from './build-bin.js';
import { readBinState } from './read-bin-state.js';

interface BinScope {
  tarballs: TarballArtifact[];
  removals: { arch: string; file: string }[];
  published: readonly PublishedTarball[];
}

/** Release tarballs: blobs + .asc, and each touched arch folder's SHA256SUMS (+ .asc). */
export const binSection: Section<BinScope, BinState> = {
  kind: 'bin',
  scope(input) {
    const tarballs = input.artifacts.filter((a): a is TarballArtifact => a.kind === 'tarball');
    // Only retention names tarballs: `pkgpub remove NAME` never reached them and still does not.
    const removals = input.removals.flatMap((r) =>
      r.kind === 'tarball' && r.arch !== undefined && r.file !== undefined
        ? [{ arch: r.arch, file: r.file }]
        : [],
    );
    const published = input.promoted?.tarballs ?? [];
    return tarballs.length > 0 || removals.length > 0 || published.length > 0
      ? { tarballs, removals, published }
      : undefined;
  },
  readState(ctx, scope) {
    return readBinState(ctx.store, ctx.cfg, [
      ...scope.tarballs.map((t) => t.arch),
      ...scope.removals.map((r) => r.arch),
      ...scope.published.map((t) => t.arch),
    ]);
  },
  async build(ctx, state, scope, input) {
    const bin = buildBin({
      cfg: ctx.cfg,
      state,
      tarballs: scope.tarballs,
      removals: scope.removals,
      published: scope.published,
      force: ctx.force,
      now: ctx.now,
    });
    if (!bin.changed) return { changes: bin.changes, outputs: [], garbage: [] };
    const outputs = [...bin.blobs, ...bin.copies, ...bin.files];
    if (ctx.signer)
      outputs.push(
        ...(await blobSignatures(bin.blobs, ctx.signer, input.digests)),
        ...(await binSumsSignatures(bin.files, ctx.signer)),
      );
    return { changes: bin.changes, outputs, garbage: bin.garbage };
  },
};
