import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RpmHeaders } from '../../artifacts/types.js';
import type { OutputFile } from '../../model/tiers.js';
import type { AptRemoval } from '../apt/build-apt.js';
import type { Section } from '../section.js';
import { blobSignatures } from '../sign-outputs.js';
import {
  buildYum,
  needsPkgid,
  type PublishedRpm,
  selectPromotedRpms,
  selectYumChanges,
  type YumState,
} from './build-yum.js';
import { readYumState, repodataPrefix } from './read-yum-state.js';
import { repomdPointerFiles } from './sign-repomd.js';
import { hashedRpms, type PreparedRpm, prepareSignedRpms, preparedAllAsIs } from './sign-rpm-file.js';
import { yumRepoFile } from './yum-extras.js';

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
  async build(ctx, state, scope, input) {
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
      if (!yum.changed) {
        ctx.step('yum: nothing changed');
        await cleanup();
        return { changes: selection.changes, outputs: [], garbage: [] };
      }
      ctx.step(`yum: ${selection.changes.added.length} added, ${selection.changes.removed.length} removed`);
      // Promoted rpms keep the signature they were published with, and bring their .asc.
      const outputs: OutputFile[] = [...yum.blobs, ...promoted.copies, ...yum.files];
      if (ctx.signer) outputs.push(...(await blobSignatures(yum.blobs, ctx.signer, digests)));
      outputs.push(...(await repomdPointerFiles(repodataPrefix(ctx.cfg), yum.repomd!, ctx.signer)));
      outputs.push(
        await yumRepoFile(ctx.cfg, {
          signed: Boolean(ctx.signer),
          rpmsSigned:
            Boolean(rpmSigner) || (scope.promoted.length > 0 && input.promoted?.rpmsSigned === true),
        }),
      );
      return { changes: selection.changes, outputs, garbage: yum.garbage, cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  },
};
