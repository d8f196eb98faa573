import type { TarballArtifact } from '../../artifacts/types.js';
import { ContentConflictError } from '../../errors.js';
import type { PartKeys, Snapshot } from '../../model/history.js';
import { bytesFile } from '../../model/output-file.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import { checkBlobs, type NamedBlob } from '../restore-check.js';
import type { RestoreResult, Section, SectionResult } from '../section.js';
import { blobSignatures } from '../sign-outputs.js';
import {
  type BinState,
  binFolder,
  binSumsSignatures,
  buildBin,
  type PublishedTarball,
  sumsKey,
  SUMS_FILE,
} from './build-bin.js';
import { binStateAt, readBinState } from './read-bin-state.js';
import { renderSha256Sums } from './sha256sums.js';
import { assertSignerOfPointer } from '../tree-signature.js';

const PART = 'bin/';
const partOf = (arch: string) => `${PART}${arch}`;
const archesOf = (parts: readonly string[]) =>
  parts.filter((p) => p.startsWith(PART)).map((p) => p.slice(PART.length));

function snapshotOf(state: BinState): Snapshot {
  const out: Snapshot = {};
  for (const [arch, text] of state.texts ?? []) out[partOf(arch)] = text;
  return out;
}

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
  async build(ctx, state, scope, input): Promise<SectionResult> {
    const bin = buildBin({
      cfg: ctx.cfg,
      state,
      tarballs: scope.tarballs,
      removals: scope.removals,
      published: scope.published,
      force: ctx.force,
      now: ctx.now,
    });
    for (const f of bin.files)
      if (f.key.endsWith(`/${SUMS_FILE}`))
        assertSignerOfPointer(
          f.key,
          state.signedBy?.get(f.key.split('/').at(-2)!),
          ctx.signer,
          ctx.treeKeyIds,
        );
    const read = snapshotOf(state);
    if (!bin.changed)
      return { changes: bin.changes, outputs: [], garbage: [], snapshot: { read, written: {}, dropped: {} } };
    const written: Snapshot = {};
    for (const f of bin.files)
      if ('bytes' in f.body)
        written[partOf(f.key.split('/').at(-2)!)] = new TextDecoder().decode(f.body.bytes);
    // Removed tarballs (retention) are held back by part, like apt's and yum's garbage.
    const dropped: PartKeys = {};
    for (const k of bin.garbage) {
      const part = partOf(k.split('/').at(-2)!);
      dropped[part] = [...(dropped[part] ?? []), k];
    }
    const outputs = [...bin.blobs, ...bin.copies, ...bin.files];
    if (ctx.signer)
      outputs.push(
        ...(await blobSignatures(bin.blobs, ctx.signer, input.digests)),
        ...(await binSumsSignatures(bin.files, ctx.signer)),
      );
    return { changes: bin.changes, outputs, garbage: bin.garbage, snapshot: { read, written, dropped } };
  },
  async readSnapshot(ctx, parts) {
    return snapshotOf(await readBinState(ctx.store, ctx.cfg, archesOf(parts)));
  },
  async readStateAt(ctx, snapshot) {
    const texts = new Map(archesOf(Object.keys(snapshot)).map((a) => [a, snapshot[partOf(a)]!]));
    return binStateAt(ctx.store, ctx.cfg, texts);
  },
  async restore(ctx, current, target): Promise<RestoreResult> {
    const { cfg } = ctx;
    const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
    const files: OutputFile[] = [];
    const garbage: string[] = [];
    const dropped: PartKeys = {};
    const written: Snapshot = {};
    const back: NamedBlob[] = [];
    for (const arch of archesOf(Object.keys(target.snapshot)).sort()) {
      const part = partOf(arch);
      if ((current.snapshot[part] ?? '') === target.snapshot[part]) continue;
      const now = current.state.sums.get(arch) ?? new Map<string, string>();
      const then = target.state.sums.get(arch) ?? new Map<string, string>();
      const folder = binFolder(cfg, arch);
      for (const [name, sha] of then) {
        const cur = now.get(name);
        if (cur !== undefined && cur !== sha)
          throw new ContentConflictError(
            `cannot roll back tarballs: ${folder}/${name} was published again with other bytes since that generation (--force), so its old bytes are gone`,
          );
        if (cur === undefined) {
          back.push({ key: `${folder}/${name}`, sha256: sha, asc: Boolean(ctx.signer) });
          changes.added.push(`${arch}/${name}`);
        }
      }
      const gone = [...now.keys()].filter((n) => !then.has(n));
      for (const n of gone) changes.removed.push(`${arch}/${n}`);
      const keys = gone.flatMap((n) => [`${folder}/${n}`, `${folder}/${n}.asc`]);
      garbage.push(...keys);
      if (keys.length > 0) dropped[part] = keys;
      const text = renderSha256Sums(then);
      written[part] = text;
      files.push(bytesFile(sumsKey(cfg, arch), 'index', text));
    }
    await checkBlobs(ctx.store, back, `tarballs of channel ${cfg.channel}`);
    const outputs = [...files];
    if (ctx.signer) outputs.push(...(await binSumsSignatures(files, ctx.signer)));
    return {
      changes,
      outputs,
      garbage,
      revived: back.flatMap((b) => [b.key, `${b.key}.asc`]),
      snapshot: { read: current.snapshot, written, dropped },
    };
  },
};
