import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { type PruneReport, prune } from '../changes/prune.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { NothingMatchedError, UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { describePlan, planJson } from '../model/plan.js';
import type { Removal, Rule } from '../retention/decide.js';
import { hasRule, type RetentionPolicy } from '../retention/policy.js';
import { versionLabel } from '../retention/published.js';
import type { AptRemoval } from '../repos/apt/build-apt.js';
import type { TransactionResult } from '../transaction/transaction.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { usage } from './table/render-help.js';
import { policyFromFlags } from './retention-flags.js';
import { signerForTree } from './rotation-signer.js';
import { signerFromEnv, signingKeyFile } from './signer-from-env.js';

/**
 * `pkgpub prune`: retention for one channel's debs, rpms and tarballs. A dry run unless --apply;
 * the stable channel only with --allow-stable.
 */
export async function runPrune(args: string[], r: Reporter): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions('prune'),
  });
  if (positionals.length > 0)
    throw new UsageError(`prune: unexpected argument "${positionals[0]}"; ${usage('prune')}`);
  const channel = values.channel;
  if (channel !== 'stable' && channel !== 'dev')
    throw new UsageError(`prune: --channel must be stable or dev, not "${channel}"`);
  if (channel === 'stable' && !values['allow-stable'])
    throw new UsageError(
      'prune: the stable channel is pruned only with --allow-stable (for the dev channel say --channel dev)',
    );
  const gcGrace = Number(values['gc-grace']);
  if (values['gc-grace'].trim() === '' || !(gcGrace >= 0))
    throw new UsageError('--gc-grace takes seconds (0: delete unreferenced objects at once)');
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  // Flags are checked before the file is read: a typo is reported as a typo, whatever the file says.
  policyFromFlags('prune', values, undefined, true);
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, {
    channel,
    ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
  });
  const policy = policyFromFlags('prune', values, cfg.retention[cfg.channel], true);
  if (!hasRule(policy))
    throw new UsageError(
      `prune: nothing to prune by: give --keep, --max-size or --older-than, or retention.${channel} in ${values.config}`,
    );
  const ownSigner = await signerFromEnv(
    { keyFile: signingKeyFile(values['signing-key'], file), unsigned: values.unsigned },
    r,
  );
  const store = await targetStore(values, { concurrency });
  // During a key rotation the tree says which keys sign, and in which order.
  const signer = await signerForTree(store, ownSigner, {}, r);
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  const result = await prune({
    store,
    cfg,
    policy,
    ...(signer ? { signer } : {}),
    rpmsSigned: !values['no-sign-rpms'],
    gcGraceMs: gcGrace * 1000,
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
  if (values.json) r.out(JSON.stringify(jsonReport(result, policy, store.description, !values.apply)));
  else textReport(result, policy, store.description, !values.apply, gcGrace, r);
  const d = result.report.decision;
  // An empty channel is a wrong --to or --channel far more often than a real state.
  if (d.remove.length === 0 && d.keep.length === 0)
    throw new NothingMatchedError(
      `prune: the ${channel} channel of ${store.description} holds no debs, rpms or tarballs (check --to and --channel)`,
    );
  if (result.report.decision.overBy > 0)
    r.warn(
      `the ${channel} channel is still ${formatBytes(result.report.decision.overBy)} over --max-size: ` +
        'what is left is the newest version of each package and the protected ones',
    );
}

function because(rule: Rule, policy: RetentionPolicy): string {
  switch (rule) {
    case 'keep':
      return `beyond the newest ${policy.keep} (keep)`;
    case 'older-than':
      return `published more than ${formatAge(policy.olderThanMs!)} ago (older-than)`;
    case 'max-size':
      return `oldest while the channel is over ${formatBytes(policy.maxSize!)} (max-size)`;
  }
}

function formatAge(ms: number): string {
  for (const [unit, size] of [
    ['w', 7 * 86_400_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 60_000}m`;
}

function removalJson(x: Removal<AptRemoval>) {
  const v = x.version;
  return {
    kind: v.kind,
    name: v.name,
    arch: v.arch,
    version: v.version,
    ...(v.ref.file ? { file: v.ref.file } : {}),
    size: v.size,
    ...(v.time !== undefined ? { published: new Date(v.time).toISOString() } : {}),
    reasons: x.reasons,
  };
}

function jsonReport(
  res: TransactionResult<PruneReport>,
  policy: RetentionPolicy,
  target: string,
  dryRun: boolean,
) {
  const d = res.report.decision;
  return {
    target,
    channel: res.report.channel,
    dryRun,
    policy,
    remove: d.remove.map(removalJson),
    keep: d.keep.map((k) => ({
      kind: k.version.kind,
      name: k.version.name,
      arch: k.version.arch,
      version: k.version.version,
      why: k.why,
    })),
    sizeBefore: d.sizeBefore,
    sizeAfter: d.sizeAfter,
    bytesFreed: d.bytesFreed,
    overBy: d.overBy,
    plan: planJson(res.plan),
    attempts: res.attempts,
    ...(res.applied ? { applied: res.applied } : {}),
    ...(res.cdn ? { cdn: res.cdn } : {}),
  };
}

function textReport(
  res: TransactionResult<PruneReport>,
  policy: RetentionPolicy,
  target: string,
  dryRun: boolean,
  graceSeconds: number,
  r: Reporter,
): void {
  const { decision: d, channel } = res.report;
  const freed = `${formatBytes(d.bytesFreed)} (channel ${formatBytes(d.sizeBefore)} → ${formatBytes(d.sizeAfter)})`;
  r.out(
    dryRun
      ? `dry run: would remove ${d.remove.length} version(s) from the ${channel} channel in ${target}, freeing ${freed}`
      : `pruned ${d.remove.length} version(s) from the ${channel} channel in ${target}, freeing ${freed}` +
          (d.remove.length > 0 && graceSeconds > 0
            ? ` once their files have been unreferenced for ${graceSeconds} s (a later prune or publish deletes them)`
            : ''),
  );
  if (d.remove.length === 0 && d.keep.length > 0)
    r.out(
      `nothing to prune: the ${d.keep.length} version(s) in the ${channel} channel are all within the rules`,
    );
  for (const x of d.remove)
    r.out(
      `remove ${x.version.kind} ${versionLabel(x.version)} (${formatBytes(x.version.size)}): ${x.reasons.map((rule) => because(rule, policy)).join('; ')}`,
    );
  for (const k of d.keep)
    if (k.why === 'protected') r.out(`keep   ${k.version.kind} ${versionLabel(k.version)}: protected`);
  if (dryRun) {
    for (const l of describePlan(res.plan)) r.out(l);
    reportCdn(res.cdn, r, false);
    if (res.plan.tiers.length > 0 || res.plan.deletes.length > 0)
      r.out('re-run with --apply to make these changes');
    return;
  }
  const a = res.applied ?? { written: 0, deleted: 0, bytes: 0 };
  r.out(`${a.written} objects written, ${a.deleted} deleted`);
  reportCdn(res.cdn, r, false);
}
