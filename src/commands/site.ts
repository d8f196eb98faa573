import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { rebuildSite } from '../changes/rebuild-site.js';
import { describePlan } from '../model/plan.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { groupUsage } from './table/render-help.js';

/**
 * `pkgpub site rebuild`: renders every folder's listing from one listing of the whole tree.
 * Publishes keep listings up to date on their own; this is for a tree whose listings are
 * missing or damaged, or after the site templates changed.
 */
export async function runSite(args: string[], r: Reporter): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'rebuild') throw new UsageError(groupUsage('site'));
  const { values } = parseArgs({
    args: rest,
    options: parseOptions('site rebuild'),
  });
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  if (values.fingerprint !== undefined && !/^[0-9A-Fa-f ]{16,}$/.test(values.fingerprint))
    throw new UsageError('--fingerprint must be a hex key fingerprint');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, values['base-url'] ? { baseUrl: values['base-url'] } : {});
  const store = await targetStore(values);
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  r.info(`listing ${store.description}`);
  const fingerprint = values.fingerprint?.replace(/ /g, '');
  const result = await rebuildSite({
    store,
    cfg,
    dryRun: values['dry-run'],
    ...(fingerprint ? { fingerprint } : {}),
    ...(concurrency ? { concurrency } : {}),
    ...(cdn ? { cdn } : {}),
    progress: { onStep: (l) => r.info(l) },
  });
  const { plan } = result;
  const folders = result.report.folders;
  const unindexed = result.report.unindexedDriverVersions;
  if (unindexed.length > 0)
    r.warn(
      `driver files of ${unindexed.length} driver version(s) are in no driver index (${unindexed.slice(0, 5).join(', ')}${unindexed.length > 5 ? ', ...' : ''}): ` +
        'site rebuild writes listings only; run `pkgpub adopt` to index them for the driver browser',
    );
  if (values['dry-run']) {
    const writes = plan.tiers.reduce((n, t) => n + t.steps.length, 0);
    r.out(
      `dry run: ${folders} folders; ${writes} writes and ${plan.deletes.length} deletes would be made in ${store.description}`,
    );
    for (const l of describePlan(plan)) r.out(l);
    reportCdn(result.cdn, r, false);
    return;
  }
  const applied = result.applied ?? { written: 0, deleted: 0, bytes: 0 };
  r.out(
    `rebuilt listings of ${folders} folders in ${store.description}: ${applied.written} written (${formatBytes(applied.bytes)}), ` +
      `${applied.deleted} deleted, ${plan.skipped} unchanged`,
  );
  reportCdn(result.cdn, r, false);
}
