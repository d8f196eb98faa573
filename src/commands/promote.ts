import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { type PromoteReport, promote } from '../changes/promote.js';
import { parsePromoteSpec } from '../changes/promote-select.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { describePlan, planJson } from '../model/plan.js';
import type { TransactionResult } from '../transaction/transaction.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { signerForTree } from './rotation-signer.js';
import { signerFromEnv, signingKeyFile } from './signer-from-env.js';

/** `pkgpub promote NAME[=VERSION]... --from-channel dev --to-channel stable`. */
export async function runPromote(args: string[], r: Reporter): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions('promote'),
  });
  if (positionals.length === 0) throw new UsageError('promote: name at least one NAME[=VERSION]');
  const specs = positionals.map(parsePromoteSpec);
  const fromChannel = values['from-channel'];
  const toChannel = values['to-channel'];
  if (fromChannel === toChannel)
    throw new UsageError(`promote: --from-channel and --to-channel are both ${fromChannel}`);
  const gcGrace = Number(values['gc-grace']);
  if (!(gcGrace >= 0))
    throw new UsageError('--gc-grace takes seconds (0: delete unreferenced objects at once)');
  const given = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (given !== undefined && (!Number.isInteger(given) || given < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const shared = {
    ...(values.component ? { component: values.component } : {}),
    ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
  };
  const from = resolveConfig(file, { ...shared, channel: fromChannel });
  const cfg = resolveConfig(file, { ...shared, channel: toChannel });
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  const ownSigner = await signerFromEnv(
    { keyFile: signingKeyFile(values['signing-key'], file), unsigned: values.unsigned },
    r,
  );
  const store = await targetStore(values, { concurrency: given });
  // During a key rotation the tree says which keys sign, and in which order.
  const signer = await signerForTree(store, ownSigner, {}, r);
  const result = await promote({
    specs,
    from,
    cfg,
    store,
    ...(signer ? { signer } : {}),
    allowPrerelease: values['allow-prerelease'],
    dryRun: values['dry-run'],
    gcGraceMs: gcGrace * 1000,
    ...(given ? { concurrency: given } : {}),
    ...(cdn ? { cdn } : {}),
    progress: {
      onStep: (l) => {
        if (!values.json) r.info(l);
      },
      onWrite: (key, bytes) => {
        if (!values.json && !r.interactive) r.info(`wrote  ${key} (${formatBytes(bytes)})`);
      },
      onDelete: (key) => {
        if (!values.json && !r.interactive) r.info(`delete ${key}`);
      },
    },
  });
  report(result, values['dry-run'], values.json, store.description, r);
  reportCdn(result.cdn, r, values.json);
}

function report(
  res: TransactionResult<PromoteReport>,
  dryRun: boolean,
  json: boolean,
  target: string,
  r: Reporter,
): void {
  const { report: p, plan } = res;
  const writes = plan.tiers.reduce((n, t) => n + t.steps.length, 0);
  if (json) {
    r.out(
      JSON.stringify({
        target,
        dryRun,
        from: p.from,
        to: p.to,
        picked: p.picked,
        changes: p.changes,
        plan: planJson(plan),
        attempts: res.attempts,
        ...(res.applied ? { applied: res.applied } : {}),
        ...(res.cdn ? { cdn: res.cdn } : {}),
      }),
    );
    return;
  }
  for (const k of p.picked)
    r.out(
      `${dryRun ? 'would promote' : 'promote'} ${k.kind} ${k.name} ${k.version} ${k.arch}: ${k.from} → ${k.to}`,
    );
  if (dryRun) {
    r.out(`dry run: ${writes} writes and ${plan.deletes.length} deletes would be made in ${target}`);
    for (const l of describePlan(plan)) r.out(l);
    return;
  }
  const count = (s: { added: string[]; unchanged: string[] }) =>
    `+${s.added.length} (${s.unchanged.length} already there)`;
  const a = res.applied;
  r.out(
    `promoted ${p.from} → ${p.to} in ${target}: apt ${count(p.changes.apt)}; yum ${count(p.changes.yum)}; tarballs ${count(p.changes.bin)}; ` +
      `${a?.copied ?? 0} objects copied in the store (${formatBytes(a?.copiedBytes ?? 0)}), ` +
      `${(a?.written ?? 0) - (a?.copied ?? 0)} written (${formatBytes(a?.bytes ?? 0)}), ${a?.deleted ?? 0} deleted, ${plan.skipped} already in place`,
  );
}
