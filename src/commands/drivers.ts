import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { pruneDrivers } from '../changes/prune-drivers.js';
import { formatBytes } from '../format-bytes.js';
import { describePlan } from '../model/plan.js';
import { hasRule } from '../retention/policy.js';
import { runHistory } from './history.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { groupUsage, usage } from './table/render-help.js';
import { runRollback } from './rollback.js';
import { policyFromFlags } from './retention-flags.js';
import { signerFromEnv, signingKeyFile } from './signer-from-env.js';

/**
 * `pkgpub drivers prune`: drops driver versions by the same rules as `pkgpub prune` (keep the newest
 * N, max size, older than, protect). A dry run unless --apply. `drivers rollback` and `drivers
 * history` are `rollback` and `history` for the driver tree, which keeps a history of its own.
 */
export async function runDrivers(args: string[], r: Reporter): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'rollback') return runRollback(rest, r, { drivers: true });
  if (sub === 'history') return runHistory(rest, r, { drivers: true });
  if (sub !== 'prune') throw new UsageError(groupUsage('drivers'));
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: parseOptions('drivers prune'),
  });
  if (positionals.length > 0)
    throw new UsageError(`drivers prune: unexpected argument "${positionals[0]}"; ${usage('drivers prune')}`);
  const policy = policyFromFlags('drivers prune', values, undefined, false);
  if (!hasRule(policy))
    throw new UsageError(`drivers prune: give --keep, --max-size or --older-than; ${usage('drivers prune')}`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, values['base-url'] ? { baseUrl: values['base-url'] } : {});
  const store = await targetStore(values);
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  // The new version list is signed like the one it replaces; a key is needed only if one signed it.
  const keyFile = signingKeyFile(values['signing-key'], file);
  const signer =
    keyFile || process.env.PKGPUB_SIGNING_KEY
      ? await signerFromEnv({ keyFile, unsigned: values.unsigned }, r)
      : undefined;
  const result = await pruneDrivers({
    ...(signer ? { signer } : {}),
    unsigned: values.unsigned,
    store,
    cfg,
    policy,
    dryRun: !values.apply,
    ...(concurrency ? { concurrency } : {}),
    ...(cdn ? { cdn } : {}),
    progress: {
      onStep: (l) => {
        if (!values.json) r.info(l);
      },
      onDelete: (k) => {
        if (!values.json) r.info(`delete ${k}`);
      },
    },
  });
  const { plan, report: prune } = result;
  const summary = {
    target: store.description,
    dryRun: !values.apply,
    keep: prune.keep,
    remove: prune.remove,
    reasons: prune.reasons,
    protected: prune.protected,
    ...(prune.bytesFreed !== undefined ? { bytesFreed: prune.bytesFreed } : {}),
    puts: plan.tiers.flatMap((t) => t.steps.map((s) => s.file.key)),
    deletes: plan.deletes,
    ...(result.applied ? { applied: result.applied } : {}),
    ...(result.cdn ? { cdn: result.cdn } : {}),
  };
  if (prune.overBy > 0)
    r.warn(
      `the driver tree is still ${formatBytes(prune.overBy)} over --max-size: what is left is the newest version and the protected ones`,
    );
  if (values.json) {
    r.out(JSON.stringify(summary));
    return;
  }
  const why = (v: string) => ` (${prune.reasons[v]?.join(', ') ?? ''})`;
  if (!values.apply) {
    r.out(
      prune.remove.length === 0
        ? `dry run: ${prune.versions.length} driver versions: nothing to prune in ${store.description}`
        : `dry run: would remove ${prune.remove.length} driver versions (${prune.remove.map((v) => v + why(v)).join(', ')}) from ${store.description}, keeping ${prune.keep.join(', ')}`,
    );
    for (const l of describePlan(plan)) r.out(l);
    reportCdn(result.cdn, r, false);
    if (prune.remove.length > 0) r.out('re-run with --apply to make these changes');
    return;
  }
  const applied = result.applied ?? { written: 0, deleted: 0, bytes: 0 };
  r.out(
    `pruned ${prune.remove.length} driver versions from ${store.description}: ${applied.deleted} objects deleted, ${applied.written} written; kept ${prune.keep.join(', ') || 'none'}`,
  );
  reportCdn(result.cdn, r, false);
}
