import { parseArgs } from 'node:util';
import { CDN_OPTIONS, cdnFromSettings, reportCdn } from '../cdn/cdn-flags.js';
import { invalidateApplied, plannedInvalidation } from '../cdn/invalidator.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { applyPlan } from '../publish/apply.js';
import { bytesFile } from '../publish/output-file.js';
import { describePlan, makePlan } from '../publish/plan.js';
import { probeExisting } from '../publish/probe.js';
import { addListings } from '../publish/with-listings.js';
import { versionDocKey, versionListKey } from '../repos/drivers/build-drivers.js';
import { renderVersionList } from '../repos/drivers/driver-index.js';
import { planPrune } from '../repos/drivers/prune.js';
import { readDriverVersions } from '../repos/drivers/read-driver-state.js';
import { driverSiteFiles } from '../repos/drivers/site-files.js';
import { openStore } from '../storage/open-store.js';
import type { Reporter } from './reporter.js';

const USAGE =
  'usage: pkgpub drivers prune --keep N [--apply] [--to DIR|s3://BUCKET/PREFIX] [--config pkgpub.yaml] [--json] [--cloudfront-distribution ID]';

/** `pkgpub drivers prune`: drops driver versions beyond the newest N. A dry run unless --apply. */
export async function runDrivers(args: string[], r: Reporter): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'prune') throw new UsageError(USAGE);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      keep: { type: 'string' },
      apply: { type: 'boolean', default: false },
      to: { type: 'string', default: './public' },
      config: { type: 'string', default: 'pkgpub.yaml' },
      'base-url': { type: 'string' },
      json: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      ...CDN_OPTIONS,
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`drivers prune: unexpected argument "${positionals[0]}"; ${USAGE}`);
  const keep = Number(values.keep);
  if (values.keep === undefined || !Number.isInteger(keep) || keep < 1)
    throw new UsageError(`drivers prune: --keep must be a whole number of at least 1; ${USAGE}`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, values['base-url'] ? { baseUrl: values['base-url'] } : {});
  const store = await openStore(values.to);
  const cdnTarget = cdnFromSettings(values['cloudfront-distribution'], file, values.to);

  const versions = await readDriverVersions(store, cfg);
  const prune = planPrune(versions, keep);
  const deletes: string[] = [];
  // Prune is rare, so listing the doomed versions' folders is fine; the kept ones are never listed.
  for (const v of prune.remove) {
    for await (const o of store.list(`${cfg.prefixes.driver}/${v}/`)) deletes.push(o.key);
    const doc = versionDocKey(cfg, v);
    if (await store.head(doc)) deletes.push(doc);
  }
  // The version list goes first (pointer tier) so no reader is sent to a version being deleted.
  const outputs =
    prune.remove.length === 0
      ? []
      : [
          bytesFile(versionListKey(cfg), 'pointer', renderVersionList(prune.keep)),
          ...(await driverSiteFiles(cfg, prune.keep)),
        ];
  const plan = makePlan(outputs, await probeExisting(store, outputs), deletes);
  // The driver/ folder listings name the versions being removed: re-render them with the prune.
  await addListings(plan, { store, cfg, now: new Date() });

  const summary = {
    target: store.description,
    dryRun: !values.apply,
    keep: prune.keep,
    remove: prune.remove,
    puts: plan.tiers.flatMap((t) => t.steps.map((s) => s.file.key)),
    deletes: plan.deletes,
  };
  if (!values.apply) {
    const cdn = cdnTarget && plannedInvalidation(cdnTarget, plan);
    if (values.json) r.out(JSON.stringify({ ...summary, ...(cdn ? { cdn } : {}) }));
    else {
      r.out(
        prune.remove.length === 0
          ? `dry run: ${versions.length} driver versions, keeping ${keep}: nothing to prune in ${store.description}`
          : `dry run: would remove ${prune.remove.length} driver versions (${prune.remove.join(', ')}) from ${store.description}, keeping ${prune.keep.join(', ')}`,
      );
      for (const l of describePlan(plan)) r.out(l);
      reportCdn(cdn, r, false);
      if (prune.remove.length > 0) r.out('re-run with --apply to make these changes');
    }
    return;
  }
  const applied = await applyPlan(plan, store, {
    concurrency,
    progress: {
      onDelete: (k) => {
        if (!values.json) r.info(`delete ${k}`);
      },
    },
  });
  const cdn = cdnTarget && (await invalidateApplied(cdnTarget, plan));
  if (values.json) r.out(JSON.stringify({ ...summary, applied, ...(cdn ? { cdn } : {}) }));
  else
    r.out(
      `pruned ${prune.remove.length} driver versions from ${store.description}: ${applied.deleted} objects deleted, ${applied.written} written; kept ${prune.keep.join(', ') || 'none'}`,
    );
  reportCdn(cdn, r, values.json);
}
