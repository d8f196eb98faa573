import type { DriverArtifact } from '../../artifacts/types.js';
import { StorageError } from '../../errors.js';
import { boundedSummary, DRIVERS_RECORD, type PartKeys, type Snapshot } from '../../model/history.js';
import { bytesFile } from '../../model/output-file.js';
import { bytesOutput } from '../../model/text-output.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { checkBlobs, type NamedBlob } from '../restore-check.js';
import type { RestoreResult, Section, SectionContext } from '../section.js';
import {
  buildDrivers,
  type DriverState,
  type ReadDoc,
  versionDocKey,
  versionListKey,
} from './build-drivers.js';
import {
  keptDoc,
  keptDocKey,
  LIST_PART,
  readSnapshotOf,
  restoreVersion,
  versionPart,
  versionsOfParts,
} from './driver-history.js';
import { parseDriverVersionDoc, parseVersionList } from './driver-index.js';
import { sha256Hex } from '../../artifacts/checksums.js';
import { ABSENT, readDriverParts, readDriverState } from './read-driver-state.js';
import { signDriverIndexes } from './sign-indexes.js';
import { driverSiteFiles } from './site-files.js';

/**
 * A version json a generation names, by its sha256: the copy the history kept, else the live
 * one if it still has those bytes (the current generation's, or one a rollback put back).
 */
async function docBySha(ctx: SectionContext, version: string, sha256: string): Promise<ReadDoc> {
  const { store, cfg } = ctx;
  for (const key of [keptDocKey(sha256), versionDocKey(cfg, version)]) {
    const bytes = await store.get(key);
    if (bytes && sha256Hex(bytes) === sha256) return { sha256, bytes };
  }
  throw new StorageError(
    `the driver index of ${version} with sha256 ${sha256.slice(0, 12)}… is neither kept under the history nor in place in ${store.description}`,
  );
}

/** Without a key, the `.asc` of each driver index being rewritten goes: it signed other bytes. */
async function unsignedIndexes(ctx: SectionContext, outputs: OutputFile[]): Promise<string[]> {
  const site = `${ctx.cfg.prefixes.driver}/site/`;
  const out: string[] = [];
  for (const o of outputs)
    if (o.key.startsWith(site) && o.key.endsWith('.json') && (await ctx.store.head(`${o.key}.asc`)))
      out.push(`${o.key}.asc`);
  return out;
}

function parseDoc(store: ObjectStore, key: string, bytes: Uint8Array) {
  return parseDriverVersionDoc(bytes, `${key} in ${store.description}`);
}

/**
 * Driver files at driver/<version>/<arch>/<file>, the per-version json and index.json (each with
 * a .asc when signed), and the driver browser page. Drivers get no .asc each (100k signatures per version would dwarf the
 * drivers); each driver's sha256 is listed in its version json instead. The version json is
 * written through the transaction's spill as it is encoded (a 100,000-driver one is ~50 MB).
 * Every channel shares the driver tree, so its history is a record of its own.
 */
export const driversSection: Section<DriverArtifact[], DriverState> = {
  kind: 'drivers',
  historyRecord: DRIVERS_RECORD,
  scope(input) {
    const drivers = input.artifacts.filter((a): a is DriverArtifact => a.kind === 'driver');
    return drivers.length > 0 ? drivers : undefined;
  },
  readState(ctx, drivers) {
    return readDriverState(ctx.store, ctx.cfg, new Set(drivers.map((d) => d.driverVersion)));
  },
  async build(ctx, state, drivers) {
    const drv = buildDrivers({
      cfg: ctx.cfg,
      state,
      drivers,
      force: ctx.force,
      now: ctx.now,
      open: ctx.open,
    });
    const readDocs = state.read ?? new Map<string, ReadDoc>();
    const read = readSnapshotOf(state.listText ?? '', readDocs);
    if (!drv.changed)
      return { changes: drv.changes, outputs: [], garbage: [], snapshot: { read, written: {}, dropped: {} } };
    const byKey = new Map(drv.files.map((f) => [f.key, f]));
    const written: Snapshot = {};
    const dropped: PartKeys = {};
    const kept: OutputFile[] = [];
    for (const [v, doc] of readDocs) {
      const out = byKey.get(versionDocKey(ctx.cfg, v));
      if (!out) continue;
      written[versionPart(v)] = out.sha256;
      // The json this publish replaces is what the generation before it names: kept by content.
      if (doc.sha256 !== '' && doc.sha256 !== out.sha256) {
        kept.push(keptDoc(doc, ctx.open));
        dropped[versionPart(v)] = [keptDocKey(doc.sha256)];
      }
    }
    const list = byKey.get(versionListKey(ctx.cfg));
    if (list && 'bytes' in list.body) written[LIST_PART] = new TextDecoder().decode(list.body.bytes);
    return {
      changes: drv.changes,
      outputs: [
        ...drv.blobs,
        ...kept,
        ...(await signDriverIndexes(ctx.cfg, drv.files, ctx.signer)),
        ...(await driverSiteFiles(ctx.cfg, drv.versions)),
      ],
      garbage: drv.garbage,
      snapshot: {
        read,
        written,
        dropped,
        ...(kept.length > 0 ? { preserved: kept.map((k) => k.key) } : {}),
        summary: boundedSummary(drv.changes.added, drv.changes.removed),
      },
    };
  },
  readSnapshot(ctx, parts, opts) {
    return readDriverParts(ctx.store, ctx.cfg, parts, opts?.checkOnly);
  },
  async readStateAt(ctx, snapshot) {
    const { store, cfg } = ctx;
    const listText = snapshot[LIST_PART] ?? '';
    const versions =
      listText === '' ? [] : parseVersionList(listText, `${versionListKey(cfg)} of a kept generation`);
    const docs: DriverState['docs'] = new Map();
    const read = new Map<string, ReadDoc>();
    for (const v of versionsOfParts(Object.keys(snapshot))) {
      const sha = snapshot[versionPart(v)]!;
      if (sha === '') {
        read.set(v, ABSENT);
        continue;
      }
      const doc = await docBySha(ctx, v, sha);
      read.set(v, doc);
      docs.set(v, parseDoc(store, versionDocKey(cfg, v), doc.bytes));
    }
    return { versions, docs, listText, read };
  },
  async restore(ctx, current, target): Promise<RestoreResult> {
    const { cfg } = ctx;
    const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
    const outputs: OutputFile[] = [];
    const garbage: string[] = [];
    const dropped: PartKeys = {};
    const written: Snapshot = {};
    const preserved: string[] = [];
    const revived: string[] = [];
    const back: NamedBlob[] = [];
    for (const v of versionsOfParts(Object.keys(target.snapshot))) {
      const part = versionPart(v);
      const now = current.snapshot[part] ?? '';
      const then = target.snapshot[part]!;
      if (now === then) continue;
      const r = restoreVersion(
        cfg,
        v,
        current.state.docs.get(v)?.drivers ?? [],
        target.state.docs.get(v)?.drivers ?? [],
      );
      back.push(...r.back.map((b) => ({ ...b, asc: false })));
      changes.added.push(...r.added);
      changes.removed.push(...r.removed);
      const held = [...r.gone];
      const doc = current.state.read?.get(v);
      if (now !== '' && doc && doc.sha256 === now) {
        outputs.push(keptDoc(doc, ctx.open));
        preserved.push(keptDocKey(now));
        held.push(keptDocKey(now));
      }
      if (held.length > 0) dropped[part] = held;
      garbage.push(...held);
      if (then === '') {
        garbage.push(versionDocKey(cfg, v));
        if (await ctx.store.head(`${versionDocKey(cfg, v)}.asc`))
          garbage.push(`${versionDocKey(cfg, v)}.asc`);
      } else {
        // The very bytes that generation served (its date included), so a loader sees that state again.
        outputs.push(bytesOutput(ctx.open, versionDocKey(cfg, v), 'index', target.state.read!.get(v)!.bytes));
        // Named again by the new generation: no longer garbage of the one that dropped it.
        revived.push(keptDocKey(then));
      }
      written[part] = then;
    }
    const nowList = current.snapshot[LIST_PART] ?? '';
    const thenList = target.snapshot[LIST_PART] ?? nowList;
    if (thenList !== nowList) {
      if (thenList === '') {
        garbage.push(versionListKey(cfg));
        if (await ctx.store.head(`${versionListKey(cfg)}.asc`)) garbage.push(`${versionListKey(cfg)}.asc`);
      } else outputs.push(bytesFile(versionListKey(cfg), 'pointer', thenList));
      written[LIST_PART] = thenList;
    }
    if (Object.keys(written).length > 0) outputs.push(...(await driverSiteFiles(cfg, target.state.versions)));
    await checkBlobs(ctx.store, back, 'drivers');
    return {
      changes,
      garbage,
      // The restored bytes get fresh signatures (the ones they had are not kept).
      outputs: await signDriverIndexes(cfg, outputs, ctx.signer),
      ...(ctx.signer ? {} : { garbage: [...garbage, ...(await unsignedIndexes(ctx, outputs))] }),
      revived: [...back.map((b) => b.key), ...revived],
      snapshot: {
        read: current.snapshot,
        written,
        dropped,
        ...(preserved.length > 0 ? { preserved } : {}),
        summary: boundedSummary(changes.added, changes.removed),
      },
    };
  },
};
