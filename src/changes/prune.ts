import type { ResolvedConfig } from '../config/resolve.js';
import type { AptRemoval } from '../repos/apt/build-apt.js';
import { readAptState } from '../repos/apt/read-apt-state.js';
import { SUMS_FILE } from '../repos/bin/build-bin.js';
import { readBinState } from '../repos/bin/read-bin-state.js';
import { SignatureDigests } from '../repos/sign-outputs.js';
import { readYumState } from '../repos/yum/read-yum-state.js';
import { decideRetention, type RetentionDecision } from '../retention/decide.js';
import type { RetentionPolicy } from '../retention/policy.js';
import { type FileFacts, publishedVersions } from '../retention/published.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import { runSections, type SectionChanges } from '../transaction/run-sections.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface PruneRequest extends ChangeOptions {
  policy: RetentionPolicy;
  /** Re-signs the indexes that change (InRelease, repomd.xml, SHA256SUMS); absent only for --unsigned. */
  signer?: Signer;
  /** The channel's rpms were published signed (the .repo file keeps gpgcheck=1). */
  rpmsSigned?: boolean;
}

export interface PruneReport {
  channel: ResolvedConfig['channel'];
  decision: RetentionDecision<AptRemoval>;
  /** What each repository dropped (empty when nothing is removed). */
  changes?: SectionChanges;
}

/**
 * `pkgpub prune`: drops the versions a retention policy removes from the channel's apt, yum and
 * tarball indexes at once; their files become garbage, deleted by this or a later run once no
 * pointer has named them for the grace period. Every run also collects garbage already due.
 */
export function prune(req: PruneRequest): Promise<TransactionResult<PruneReport>> {
  const { policy, signer, rpmsSigned, ...tx } = req;
  return runTransaction(
    { ...tx, command: 'prune', ...(signer ? { fingerprint: signer.fingerprint } : {}) },
    {
      async describe(ctx) {
        const { store, cfg, now } = ctx;
        ctx.step(`reading the ${cfg.channel} channel from ${store.description}`);
        const apt = await readAptState(store, cfg);
        const yum = await readYumState(store, cfg);
        // Tarball sizes and times exist only in a listing; the listing also says which arch folders hold a SHA256SUMS.
        const binFiles = await listAll(store, `${cfg.prefixes.bin}/`);
        const arches = [...binFiles.keys()].flatMap((k) => {
          const m = /^([^/]+)\/([^/]+)$/.exec(k.slice(cfg.prefixes.bin.length + 1));
          return m && m[2] === SUMS_FILE ? [m[1]!] : [];
        });
        const bin = await readBinState(store, cfg, arches);
        const files = new Map(binFiles);
        if (policy.olderThanMs !== undefined || policy.maxSize !== undefined) {
          // Debs have no date in any index: their files' last-modified times stand in for it.
          const folders = new Set<string>();
          for (const entries of apt.indexes.values())
            for (const e of entries) folders.add(`${cfg.prefixes.deb}/${e.filename}`.replace(/[^/]*$/, ''));
          for (const f of folders) for (const [k, v] of await listFolder(store, f)) files.set(k, v);
        }
        const decision = decideRetention(publishedVersions(cfg, { apt, yum, bin }, files), policy, now);
        const report: PruneReport = { channel: cfg.channel, decision };
        ctx.step(
          `${cfg.channel}: ${decision.remove.length} version(s) to remove, ${decision.keep.length} kept`,
        );
        if (decision.remove.length === 0) return { outputs: [], report, collectGarbage: true };
        const built = await runSections(
          {
            ...ctx,
            ...(signer ? { signer } : {}),
            rpms: { sign: Boolean(signer) && rpmsSigned !== false, resign: false },
          },
          {
            artifacts: [],
            rpmHeaders: [],
            removals: decision.remove.map((r) => r.version.ref),
            digests: new SignatureDigests(undefined),
          },
          { apt, yum, bin },
        );
        report.changes = built.changes;
        return {
          outputs: built.outputs,
          garbage: built.garbage,
          // Held back like any removal's: a prune that went too far can be rolled back.
          history: built.history,
          report,
          cleanup: built.cleanup,
          collectGarbage: true,
        };
      },
    },
  );
}

async function listAll(store: ObjectStore, prefix: string): Promise<Map<string, FileFacts>> {
  const out = new Map<string, FileFacts>();
  for await (const o of store.list(prefix)) out.set(o.key, { size: o.size, lastModified: o.lastModified });
  return out;
}

async function listFolder(store: ObjectStore, folder: string): Promise<Map<string, FileFacts>> {
  const out = new Map<string, FileFacts>();
  for await (const o of store.listFolder(folder))
    out.set(o.key, { size: o.size, lastModified: o.lastModified });
  return out;
}
