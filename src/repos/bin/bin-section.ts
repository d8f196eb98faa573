import type { TarballArtifact } from '../../artifacts/types.js';
import type { Section } from '../section.js';
import { blobSignatures } from '../sign-outputs.js';
import { type BinState, binSumsSignatures, buildBin } from './build-bin.js';
import { readBinState } from './read-bin-state.js';

interface BinScope {
  tarballs: TarballArtifact[];
  removals: { arch: string; file: string }[];
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
    return tarballs.length > 0 || removals.length > 0 ? { tarballs, removals } : undefined;
  },
  readState(ctx, scope) {
    return readBinState(ctx.store, ctx.cfg, [
      ...scope.tarballs.map((t) => t.arch),
      ...scope.removals.map((r) => r.arch),
    ]);
  },
  async build(ctx, state, scope, input) {
    const bin = buildBin({
      cfg: ctx.cfg,
      state,
      tarballs: scope.tarballs,
      removals: scope.removals,
      force: ctx.force,
      now: ctx.now,
    });
    if (!bin.changed) return { changes: bin.changes, outputs: [], garbage: [] };
    const outputs = [...bin.blobs, ...bin.files];
    if (ctx.signer)
      outputs.push(
        ...(await blobSignatures(bin.blobs, ctx.signer, input.digests)),
        ...(await binSumsSignatures(bin.files, ctx.signer)),
      );
    return { changes: bin.changes, outputs, garbage: bin.garbage };
  },
};
