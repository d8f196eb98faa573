import type { TarballArtifact } from '../../artifacts/types.js';
import type { Section } from '../section.js';
import { blobSignatures } from '../sign-outputs.js';
import { type BinState, binSumsSignatures, buildBin } from './build-bin.js';
import { readBinState } from './read-bin-state.js';

/** Release tarballs: blobs + .asc, and each touched arch folder's SHA256SUMS (+ .asc). */
export const binSection: Section<TarballArtifact[], BinState> = {
  kind: 'bin',
  scope(input) {
    const tarballs = input.artifacts.filter((a): a is TarballArtifact => a.kind === 'tarball');
    return tarballs.length > 0 ? tarballs : undefined;
  },
  readState(ctx, tarballs) {
    return readBinState(
      ctx.store,
      ctx.cfg,
      tarballs.map((t) => t.arch),
    );
  },
  async build(ctx, state, tarballs, input) {
    const bin = buildBin({ cfg: ctx.cfg, state, tarballs, force: ctx.force, now: ctx.now });
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
