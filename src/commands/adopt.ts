import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { type AdoptReport, adopt } from '../changes/adopt.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { describePlan, planJson } from '../model/plan.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { commandHelp } from './table/render-help.js';
import { signerForTree } from './rotation-signer.js';
import { signerFromEnv, signingKeyFile } from './signer-from-env.js';

export async function runAdopt(args: string[], r: Reporter): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions('adopt'),
  });
  if (positionals.length > 0)
    throw new UsageError(`adopt: unexpected argument "${positionals[0]}"\n${commandHelp('adopt')}`);
  const gcGrace = Number(values['gc-grace']);
  if (!(gcGrace >= 0))
    throw new UsageError('--gc-grace takes seconds (0: delete unreferenced objects at once)');
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, {
    channel: values.channel,
    ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
  });
  // Adopting means signing the rewritten indexes: there is no unsigned adopt.
  const ownSigner = (await signerFromEnv({ keyFile: signingKeyFile(values['signing-key'], file) }, r))!;
  const store = await targetStore(values, { concurrency });
  // During a key rotation the tree says which keys sign, and in which order.
  const signer = (await signerForTree(store, ownSigner, {}, r))!;
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  const result = await adopt({
    store,
    cfg,
    signer,
    hash: values.hash,
    gcGraceMs: gcGrace * 1000,
    dryRun: values['dry-run'],
    ...(concurrency ? { concurrency } : {}),
    ...(cdn ? { cdn } : {}),
    progress: {
      onStep: (l) => {
        if (!values.json) r.info(l);
      },
    },
  });
  const { plan, report } = result;
  const writes = plan.tiers.reduce((n, t) => n + t.steps.length, 0);
  if (values.json) {
    r.out(
      JSON.stringify({
        target: store.description,
        dryRun: values['dry-run'],
        report,
        plan: planJson(plan),
        ...(result.applied ? { applied: result.applied } : {}),
        ...(result.cdn ? { cdn: result.cdn } : {}),
      }),
    );
    return;
  }
  for (const l of summary(report)) r.out(l);
  if (values['dry-run']) {
    r.out(
      `dry run: ${writes} writes and ${plan.deletes.length} deletes would be made in ${store.description}`,
    );
    for (const l of describePlan(plan)) r.out(l);
    reportCdn(result.cdn, r, false);
    return;
  }
  const applied = result.applied ?? { written: 0, deleted: 0, bytes: 0 };
  r.out(
    writes === 0 && plan.deletes.length === 0
      ? `${store.description} is already pkgpub's: nothing to change`
      : `adopted ${store.description}: ${applied.written} written (${formatBytes(applied.bytes)}), ${applied.deleted} deleted, ${plan.skipped} already in place`,
  );
  reportCdn(result.cdn, r, false);
}

function summary(rep: AdoptReport): string[] {
  const repo = (what: string, x: { absent: boolean; own: boolean; packages: number; retired: string[] }) =>
    x.absent
      ? `${what}: no repository`
      : `${what}: ${x.packages} packages, ${x.own ? `already pkgpub's${x.retired.length > 0 ? `, ${x.retired.length} files of other tools to the garbage` : ''}` : `indexes rewritten and re-signed, ${x.retired.length} files to the garbage`}`;
  const lines = [repo('apt', rep.apt), repo('yum', rep.yum)];
  const hashed = rep.bin.folders.reduce((n, f) => n + f.added.length, 0);
  lines.push(
    `tarballs: ${rep.bin.folders.length} folders, ${hashed} tarballs read for SHA256SUMS (${formatBytes(rep.bin.hashedBytes)})`,
  );
  const v = rep.drivers.versions;
  const files = v.reduce((n, x) => n + x.files, 0);
  const flat = v.reduce((n, x) => n + x.flat, 0);
  const added = v.reduce((n, x) => n + x.added, 0);
  lines.push(
    `drivers: ${v.length} versions, ${files} files (${flat} directly under their version folder, taken as x86_64), ` +
      `${added} added to indexes, ${rep.drivers.hashed} hashed`,
  );
  if (rep.drivers.unrecognized.length > 0)
    lines.push(
      `drivers: ${rep.drivers.unrecognized.length} files under the driver folder are not driver files and were left out, e.g. ${rep.drivers.unrecognized.slice(0, 3).join(', ')}`,
    );
  for (const k of rep.retired) lines.push(`garbage: ${k}`);
  return lines;
}
