import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { rollback } from '../changes/rollback.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { DRIVERS_RECORD, recordLabel } from '../model/history.js';
import { describePlan, planJson } from '../model/plan.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import { refuseChannel } from './refuse-channel.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { signerForTree } from './rotation-signer.js';
import { signerFromEnv, signingKeyFile } from './signer-from-env.js';

/**
 * `pkgpub rollback --channel C [--steps K]`: the channel's apt, yum and tarball state of K changes
 * ago, published again as a new signed generation. `pkgpub drivers rollback [--steps K]`
 * (`drivers`): the driver tree's, which no channel owns; its indexes are signed when a key is given.
 */
export async function runRollback(
  args: string[],
  r: Reporter,
  opts: { drivers?: boolean } = {},
): Promise<void> {
  const name = opts.drivers ? 'drivers rollback' : 'rollback';
  if (opts.drivers) refuseChannel(name, args);
  const { values, positionals, channel } = parseRollback(args, opts.drivers ?? false);
  if (positionals.length > 0) throw new UsageError(`${name} takes no arguments (got "${positionals[0]}")`);
  const steps = Number(values.steps);
  if (!Number.isInteger(steps) || steps < 1) throw new UsageError('--steps must be a whole number ≥ 1');
  const gcGrace = Number(values['gc-grace']);
  if (!(gcGrace >= 0))
    throw new UsageError('--gc-grace takes seconds (0: delete unreferenced objects at once)');
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, {
    channel: channel ?? 'stable',
    ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
  });
  // The driver indexes are signed when a key is at hand; without one, their signatures are dropped
  // (a signature of other bytes is worse than none).
  const keyFile = signingKeyFile(values['signing-key'], file);
  const ownSigner =
    opts.drivers && !keyFile && !process.env.PKGPUB_SIGNING_KEY
      ? undefined
      : await signerFromEnv({ keyFile, unsigned: values.unsigned }, r);
  const store = await targetStore(values, { concurrency });
  // During a key rotation the tree says which keys sign, and in which order.
  const signer = await signerForTree(store, ownSigner, {}, r);
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  const res = await rollback({
    store,
    cfg,
    steps,
    ...(opts.drivers ? { record: DRIVERS_RECORD } : {}),
    gcGraceMs: gcGrace * 1000,
    dryRun: values['dry-run'],
    ...(signer ? { signer, fingerprint: signer.fingerprint } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(cdn ? { cdn } : {}),
    progress: {
      onStep: (l) => {
        if (!values.json) r.info(l);
      },
    },
  });
  const { report, plan } = res;
  if (values.json) {
    r.out(
      JSON.stringify({
        target: store.description,
        dryRun: values['dry-run'],
        ...report,
        plan: planJson(plan),
        attempts: res.attempts,
        ...(res.applied ? { applied: res.applied } : {}),
        ...(res.cdn ? { cdn: res.cdn } : {}),
      }),
    );
    return;
  }
  const what = Object.entries(report.changes)
    .map(([kind, c]) => `${kind === 'bin' ? 'tarballs' : kind} +${c.added.length} -${c.removed.length}`)
    .join('; ');
  const writes = plan.tiers.reduce((n, t) => n + t.steps.length, 0);
  const head = `${recordLabel(report.channel)}: generation ${report.to.id} (${report.to.date}, ${report.to.command}) in place of ${report.from.id} (${report.from.date}, ${report.from.command})`;
  if (values['dry-run']) {
    r.out(
      `dry run: ${head}; ${what || 'nothing differs'}; ${writes} writes and ${plan.deletes.length} deletes would be made in ${store.description}`,
    );
    for (const l of describePlan(plan)) r.out(l);
    reportCdn(res.cdn, r, false);
    return;
  }
  const applied = res.applied ?? { written: 0, deleted: 0, bytes: 0 };
  r.out(
    `rolled back ${head}: ${what || 'nothing differs'}; ${applied.written} objects written (${formatBytes(applied.bytes)}), ${applied.deleted} deleted`,
  );
  reportCdn(res.cdn, r, false);
}

/** The driver tree's parser has no --channel; the channel's has one. */
function parseRollback(args: string[], drivers: boolean) {
  if (drivers)
    return {
      ...parseArgs({ args, allowPositionals: true, options: parseOptions('drivers rollback') }),
      channel: undefined,
    };
  const parsed = parseArgs({ args, allowPositionals: true, options: parseOptions('rollback') });
  return { ...parsed, channel: parsed.values.channel };
}
