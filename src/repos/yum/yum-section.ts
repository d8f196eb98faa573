import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RpmHeaders } from '../../artifacts/types.js';
import { ContentConflictError } from '../../errors.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import { gpgkeyUrls } from '../apt/apt-extras.js';
import type { AptRemoval } from '../apt/build-apt.js';
import { checkBlobs } from '../restore-check.js';
import type { RestoreResult, Section, SectionResult } from '../section.js';
import { blobSignatures } from '../sign-outputs.js';
import {
  buildYum,
  needsPkgid,
  type PublishedRpm,
  selectPromotedRpms,
  selectYumChanges,
  type YumEntry,
  type YumState,
  yumLabel,
} from './build-yum.js';
import { readYumPointer, readYumState, readYumStateAt, repodataPrefix } from './read-yum-state.js';
import { repomdPointerFiles } from './sign-repomd.js';
import { hashedRpms, type PreparedRpm, prepareSignedRpms, preparedAllAsIs } from './sign-rpm-file.js';
import { yumRepoFile } from './yum-extras.js';
import { assertSignerOfPointer } from '../tree-signature.js';

function repomdText(state: YumState): string {
  return state.repomdBytes ? new TextDecoder().decode(state.repomdBytes) : '';
}

const labelOf = (e: YumEntry) => yumLabel(e.name, e.epoch, e.ver, e.rel, e.arch);

interface YumScope {
  rpms: RpmHeaders[];
  removals: AptRemoval[];
  promoted: PublishedRpm[];
}

/** The yum repository: rpms (signed into a temp dir), repodata, repomd.xml.asc then repomd.xml, the .repo file. */
export const yumSection: Section<YumScope, YumState> = {
  kind: 'yum',
  scope(input) {
    const rpms: RpmHeaders[] = [...input.artifacts.filter((a) => a.kind === 'rpm'), ...input.rpmHeaders];
    const removals = input.removals.filter((r) => r.kind === undefined || r.kind === 'rpm');
    const promoted = [...(input.promoted?.rpms ?? [])];
    return rpms.length > 0 || removals.length > 0 || promoted.length > 0
      ? { rpms, removals, promoted }
      : undefined;
  },
  async readState(ctx) {
    ctx.step(`reading yum state from ${ctx.store.description}`);
    return readYumState(ctx.store, ctx.cfg);
  },
  async build(ctx, state, scope, input): Promise<SectionResult> {
    assertSignerOfPointer(
      `${repodataPrefix(ctx.cfg)}/repomd.xml`,
      state.signedBy,
      ctx.signer,
      ctx.treeKeyIds,
    );
    const { digests } = input;
    const need = needsPkgid(state, scope.rpms);
    const hashed = new Map((await hashedRpms(need, digests.template)).map((a, i) => [need[i], a]));
    const rpms = scope.rpms.map((r) => hashed.get(r) ?? r);
    const published = selectYumChanges({
      cfg: ctx.cfg,
      state,
      rpms: rpms.map((rpm) => ({ rpm, headerSha256: rpm.headerSha256 })),
      removals: scope.removals,
      force: ctx.force,
    });
    const promoted = selectPromotedRpms({
      cfg: ctx.cfg,
      selection: published,
      promoted: scope.promoted,
      force: ctx.force,
    });
    const { selection } = promoted;
    const rpmSigner = ctx.rpms.sign ? ctx.signer : undefined;
    let temp: string | undefined;
    const cleanup = async () => {
      if (temp) await rm(temp, { recursive: true, force: true });
    };
    try {
      let prepared: PreparedRpm[];
      if (rpmSigner && selection.add.length > 0) {
        temp = await mkdtemp(join(tmpdir(), 'pkgpub-rpms-'));
        ctx.step(`yum: signing ${selection.add.length} rpm(s)`);
        prepared = await prepareSignedRpms(selection.add, {
          signer: rpmSigner,
          tempDir: temp,
          resign: ctx.rpms.resign,
          ...(digests.template ? { prehash: digests.template } : {}),
        });
      } else {
        prepared = await preparedAllAsIs(selection.add, digests.template);
      }
      for (const p of prepared) digests.add(p.sha256, p.signatureDigest);
      const yum = await buildYum({
        cfg: ctx.cfg,
        state,
        selection,
        prepared,
        promoted: promoted.entries,
        now: ctx.now,
      });
      const read = { yum: repomdText(state) };
      if (!yum.changed) {
        ctx.step('yum: nothing changed');
        await cleanup();
        return {
          changes: selection.changes,
          outputs: [],
          garbage: [],
          snapshot: { read, written: {}, dropped: {} },
        };
      }
      ctx.step(`yum: ${selection.changes.added.length} added, ${selection.changes.removed.length} removed`);
      // Promoted rpms keep the signature they were published with, and bring their .asc.
      const outputs: OutputFile[] = [...yum.blobs, ...promoted.copies, ...yum.files];
      if (ctx.signer) outputs.push(...(await blobSignatures(yum.blobs, ctx.signer, digests)));
      outputs.push(...(await repomdPointerFiles(repodataPrefix(ctx.cfg), yum.repomd!, ctx.signer)));
      outputs.push(
        await yumRepoFile(ctx.cfg, {
          signed: Boolean(ctx.signer),
          keyUrls: gpgkeyUrls(ctx.cfg, ctx.signer),
          rpmsSigned:
            Boolean(rpmSigner) || (scope.promoted.length > 0 && input.promoted?.rpmsSigned === true),
        }),
      );
      return {
        changes: selection.changes,
        outputs,
        garbage: yum.garbage,
        cleanup,
        snapshot: { read, written: { yum: yum.repomd! }, dropped: { yum: yum.garbage } },
      };
    } catch (err) {
      await cleanup();
      throw err;
    }
  },
  async readSnapshot(ctx) {
    return { yum: await readYumPointer(ctx.store, ctx.cfg) };
  },
  readStateAt(ctx, snapshot) {
    return readYumStateAt(ctx.store, ctx.cfg, snapshot.yum ?? '');
  },
  async restore(ctx, current, target): Promise<RestoreResult> {
    const { cfg } = ctx;
    const prefix = cfg.prefixes.rpm;
    const nowByHref = new Map(current.state.entries.map((e) => [e.href, e]));
    const keep: YumEntry[] = [];
    const back: YumEntry[] = [];
    for (const e of target.state.entries) {
      const cur = nowByHref.get(e.href);
      if (cur && cur.pkgid !== e.pkgid) {
        // The same package signed again in place (same main header): the copy there now serves it.
        if (cur.header !== undefined && cur.header === e.header) {
          keep.push(cur);
          continue;
        }
        throw new ContentConflictError(
          `cannot roll back yum: ${prefix}/${e.href} was published again with other contents since that generation (--force), so its old bytes are gone`,
        );
      }
      if (!cur) back.push(e);
      keep.push(e);
    }
    await checkBlobs(
      ctx.store,
      back.map((e) => ({ key: `${prefix}/${e.href}`, sha256: e.pkgid, asc: Boolean(ctx.signer) })),
      `yum of channel ${cfg.channel}`,
    );
    const kept = new Set(keep.map((e) => e.pkgid));
    const had = new Set(current.state.entries.map((e) => e.pkgid));
    const changes: ChangeSummary = {
      added: keep.filter((e) => !had.has(e.pkgid)).map(labelOf),
      removed: current.state.entries.filter((e) => !kept.has(e.pkgid)).map(labelOf),
      unchanged: [],
    };
    const read = current.snapshot;
    if (changes.added.length === 0 && changes.removed.length === 0 && current.state.repomd)
      return { changes, outputs: [], garbage: [], revived: [], snapshot: { read, written: {}, dropped: {} } };
    const hrefs = new Set(keep.map((e) => e.href));
    const selection = {
      changes,
      add: [],
      keep,
      garbage: current.state.entries
        .filter((e) => !hrefs.has(e.href))
        .flatMap((e) => [`${prefix}/${e.href}`, `${prefix}/${e.href}.asc`]),
    };
    const yum = await buildYum({
      cfg,
      state: current.state,
      selection,
      prepared: [],
      now: ctx.now,
      rebuild: true,
    });
    const outputs: OutputFile[] = [...yum.files];
    outputs.push(...(await repomdPointerFiles(repodataPrefix(cfg), yum.repomd!, ctx.signer)));
    return {
      changes,
      outputs,
      garbage: yum.garbage,
      revived: back.flatMap((e) => [`${prefix}/${e.href}`, `${prefix}/${e.href}.asc`]),
      snapshot: { read, written: { yum: yum.repomd! }, dropped: { yum: yum.garbage } },
    };
  },
};
