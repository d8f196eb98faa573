import { readFile } from 'node:fs/promises';
import { targetStore } from './target-store.js';
import { parseArgs } from 'node:util';
import { type RotatePhase, rotate } from '../changes/rotate.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { describePlan, planJson } from '../model/plan.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { commandHelp } from './table/render-help.js';
import { newSignerFromEnv } from './rotation-signer.js';
import { signerFromEnv, signingKeyFile } from './signer-from-env.js';

const PHASES: readonly RotatePhase[] = ['add', 'switch', 'retire'];

/** `pkgpub keys rotate PHASE`: one phase of a signing key rotation, over every channel of the tree. */
export async function runKeysRotate(args: string[], r: Reporter): Promise<void> {
  const [phase, ...rest] = args;
  if (!phase || !PHASES.includes(phase as RotatePhase)) throw new UsageError(commandHelp('keys rotate'));
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: parseOptions('keys rotate'),
  });
  if (positionals.length > 0)
    throw new UsageError(`keys rotate ${phase} takes no arguments (got "${positionals[0]}")`);
  if (values.revocation !== undefined && phase !== 'retire')
    throw new UsageError('--revocation goes with `keys rotate retire`');
  const gcGrace = Number(values['gc-grace']);
  if (!(gcGrace >= 0))
    throw new UsageError('--gc-grace takes seconds (0: delete unreferenced objects at once)');
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfgs = (['stable', 'dev'] as const).map((channel) =>
    resolveConfig(file, { channel, ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}) }),
  );
  const keyFile = signingKeyFile(values['signing-key'], file);
  // retire needs only the new key; the current one is loaded when given (it may be the new one by now).
  const current =
    phase !== 'retire' || keyFile || process.env.PKGPUB_SIGNING_KEY
      ? await signerFromEnv({ keyFile }, r)
      : undefined;
  const next = await newSignerFromEnv({ keyFile: values['new-key'] }, r);
  let revocation: string | undefined;
  if (values.revocation !== undefined) {
    revocation = await readFile(values.revocation, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(
        `cannot read the revocation certificate ${values.revocation}: ${err.code ?? 'error'}`,
      );
    });
    if (
      !revocation.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----') &&
      !revocation.includes('-----BEGIN PGP SIGNATURE-----')
    )
      throw new UsageError(`${values.revocation} is not an armored revocation certificate`);
  }
  const store = await targetStore(values, { concurrency });
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  const res = await rotate({
    phase: phase as RotatePhase,
    store,
    cfgs,
    ...(current ? { current } : {}),
    ...(next ? { next } : {}),
    ...(revocation !== undefined ? { revocation } : {}),
    dryRun: values['dry-run'],
    gcGraceMs: gcGrace * 1000,
    ...(concurrency ? { concurrency } : {}),
    ...(cdn ? { cdn } : {}),
    progress: {
      onStep: (l) => {
        if (!values.json) r.info(l);
      },
    },
  });
  const { report, plan, results } = res;
  const applied = results.reduce(
    (a, t) => ({
      written: a.written + (t.applied?.written ?? 0),
      deleted: a.deleted + (t.applied?.deleted ?? 0),
      bytes: a.bytes + (t.applied?.bytes ?? 0),
    }),
    { written: 0, deleted: 0, bytes: 0 },
  );
  const cdnOutcomes = results.flatMap((t) => (t.cdn ? [t.cdn] : []));
  if (values.json) {
    r.out(
      JSON.stringify({
        target: store.description,
        dryRun: values['dry-run'],
        ...report,
        plan: planJson(plan),
        ...(values['dry-run'] ? {} : { applied }),
        ...(cdnOutcomes.length > 0 ? { cdn: cdnOutcomes } : {}),
      }),
    );
    return;
  }
  const resigned = Object.entries(report.channels)
    .map(([ch, c]) => `${ch} ${c.resigned.length} signature file(s)`)
    .join(', ');
  const head = `keys rotate ${report.phase}: ${report.old} → ${report.new}`;
  if (values['dry-run']) {
    const writes = plan.tiers.reduce((n, t) => n + t.steps.length, 0);
    r.out(
      `dry run: ${head}; ${writes} writes and ${plan.deletes.length} deletes would be made in ${store.description}`,
    );
    for (const l of describePlan(plan)) r.out(l);
  } else {
    r.out(
      `${head}: re-signed ${resigned || 'nothing'}; ${applied.written} objects written (${formatBytes(applied.bytes)}), ${applied.deleted} deleted, ${plan.skipped} already in place`,
    );
    r.info(NEXT[report.phase]);
  }
  for (const o of cdnOutcomes) reportCdn(o, r, false);
}

const NEXT: Record<RotatePhase, string> = {
  add: 'next: let users fetch the key bundle (keys/<project>-packages.asc) or the new key, then run `pkgpub keys rotate switch`',
  switch:
    'next: once users trust the new key (dnf and rpm users need it now), run `pkgpub keys rotate retire`; until then keep both keys in CI',
  retire:
    'done: sign with the new key alone (PKGPUB_SIGNING_KEY); PKGPUB_NEW_SIGNING_KEY is no longer needed',
};
