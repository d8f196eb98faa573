import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import type { AptRemoval } from '../repos/apt/build-apt.js';
import { type PublishResult, publish } from '../changes/publish.js';
import { describePlan, planJson } from '../model/plan.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { signerForTree } from './rotation-signer.js';
import { signerFromEnv, signingKeyFile } from './signer-from-env.js';
import { verifyWrites } from './verify-after.js';
import { formatFinding } from '../verify/findings.js';
import type { VerifyReport } from '../verify/verify.js';

/** `pkgpub publish` and `pkgpub remove` share everything but what they change. */
export async function runPublish(args: string[], r: Reporter, mode: 'publish' | 'remove'): Promise<number> {
  const { values, positionals } =
    mode === 'publish'
      ? parseArgs({ args, allowPositionals: true, options: parseOptions('publish') })
      : parseArgs({ args, allowPositionals: true, options: parseOptions('remove') });
  if (positionals.length === 0)
    throw new UsageError(
      mode === 'publish'
        ? 'publish: name at least one artifact or folder'
        : 'remove: name at least one NAME[=VERSION]',
    );
  const gcGrace = Number(values['gc-grace']);
  if (!(gcGrace >= 0))
    throw new UsageError('--gc-grace takes seconds (0: delete unreferenced objects at once)');
  const given = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (given !== undefined && (!Number.isInteger(given) || given < 1))
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, {
    channel: values.channel,
    ...(values.component ? { component: values.component } : {}),
    ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
  });
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  if (values['sign-rpms'] && values['no-sign-rpms'])
    throw new UsageError('--sign-rpms and --no-sign-rpms contradict each other');
  const ownSigner = await signerFromEnv(
    { keyFile: signingKeyFile(values['signing-key'], file), unsigned: values.unsigned },
    r,
  );
  const store = await targetStore(values, { hardlink: values.hardlink, concurrency: given });
  // During a key rotation the tree says which keys sign, and in which order.
  const signer = await signerForTree(store, ownSigner, { newKeyFile: values['new-key'] }, r);
  const removals: AptRemoval[] =
    mode === 'remove'
      ? positionals.map((p) => {
          const [name, version] = p.split('=', 2);
          if (!name) throw new UsageError(`remove: bad package spec "${p}"`);
          return version ? { name, version } : { name };
        })
      : [];
  const driver: { driverVersion?: string; arch?: string } = {};
  if (values['driver-version']) driver.driverVersion = values['driver-version'];
  if (values.arch) driver.arch = values.arch;
  let hashed = 0;
  let read = 0;
  let written = 0;
  // On a terminal: one status line redrawn in place; in CI (no TTY): one plain line per step.
  const line = (plain: string, status: string) => {
    if (values.json) return;
    if (r.interactive) r.status(status);
    else r.info(plain);
  };
  const result = await publish({
    command: mode,
    gcGraceMs: gcGrace * 1000,
    inputs: mode === 'publish' ? positionals : [],
    store,
    cfg,
    ...(signer ? { signer } : {}),
    removals,
    dryRun: values['dry-run'],
    force: values.force,
    signRpms: !values['no-sign-rpms'],
    resign: values.resign,
    ...(given ? { concurrency: given } : {}),
    scan: { driver },
    allowEmpty: 'allow-empty' in values && values['allow-empty'] === true,
    ...(cdn ? { cdn } : {}),
    progress: {
      onRead: (a) => {
        // An rpm to be signed is read for its headers here and hashed later, as its signed copy.
        const whole = a.sha256 !== undefined;
        if (whole) hashed += a.size;
        read++;
        line(
          `read   ${a.path} (${a.kind} ${a.name} ${a.version} ${a.arch}, ${formatBytes(a.size)}; ${whole ? `${formatBytes(hashed)} hashed` : 'headers only'})`,
          `reading artifacts: ${read} read, ${formatBytes(hashed)} hashed`,
        );
      },
      onStep: (l) => {
        if (!values.json) r.info(l);
      },
      onWrite: (key, bytes) => {
        written++;
        line(`wrote  ${key} (${formatBytes(bytes)})`, `writing: ${written} files written, last ${key}`);
      },
      onDelete: (key) => line(`delete ${key}`, `deleting ${key}`),
    },
  });
  const checked =
    values.verify && !values['dry-run']
      ? await verifyWrites({
          keys: result.plan.tiers.flatMap((t) => t.steps.map((s) => s.file.key)),
          cfg,
          store,
          viaBaseUrl: Boolean(values['base-url'] ?? file.base_url),
          ...(signer ? { signer } : {}),
          status: (l) => r.status(l),
        })
      : undefined;
  report(result, values['dry-run'], values.json, store.description, r, checked);
  reportCdn(result.cdn, r, values.json);
  return checked && checked.errors > 0 ? 1 : 0;
}

function report(
  res: PublishResult,
  dryRun: boolean,
  json: boolean,
  target: string,
  r: Reporter,
  verified?: VerifyReport,
): void {
  const writes = res.plan.tiers.reduce((n, t) => n + t.steps.length, 0);
  if (json) {
    r.out(
      JSON.stringify({
        target,
        dryRun,
        changes: res.changes,
        plan: planJson(res.plan),
        attempts: res.attempts,
        ...(res.applied ? { applied: res.applied } : {}),
        ...(res.cdn ? { cdn: res.cdn } : {}),
        ...(verified ? { verify: verified } : {}),
      }),
    );
    return;
  }
  if (dryRun) {
    r.out(`dry run: ${writes} writes and ${res.plan.deletes.length} deletes would be made in ${target}`);
    for (const l of describePlan(res.plan)) r.out(l);
    return;
  }
  const a = res.changes.apt;
  const y = res.changes.yum;
  const b = res.changes.bin;
  const d = res.changes.drivers;
  r.out(
    `published to ${target}: apt +${a.added.length} -${a.removed.length} (${a.unchanged.length} unchanged); ` +
      `yum +${y.added.length} -${y.removed.length} (${y.unchanged.length} unchanged); ` +
      `tarballs +${b.added.length} (${b.unchanged.length} unchanged); drivers +${d.added.length} (${d.unchanged.length} unchanged); ` +
      `${res.applied?.written ?? 0} objects written (${formatBytes(res.applied?.bytes ?? 0)}), ${res.applied?.deleted ?? 0} deleted, ${res.plan.skipped} already in place`,
  );
  if (!verified) return;
  for (const f of verified.findings) if (f.level !== 'note') r.out(formatFinding(f));
  for (const s of verified.summary)
    r.out(`verify ${s.part}: ${s.checked}: ${s.errors} errors, ${s.warnings} warnings`);
  r.out(
    verified.errors === 0
      ? `verified what this publish wrote, through ${verified.site}: no errors`
      : `published, but verify found ${verified.errors} errors through ${verified.site}`,
  );
}
