import { randomBytes } from 'node:crypto';
import { targetStore } from './target-store.js';
import { chmod, lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { publishExtendedKey } from '../changes/extend-key.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format-bytes.js';
import { describePlan, planJson } from '../model/plan.js';
import { extendKey, unlockForExtend } from '../signing/extend-key.js';
import { expiryOf, newest } from '../signing/key-report.js';
import { readSigningKey } from '../signing/load-key.js';
import { cdnFromSettings, reportCdn } from './cdn-flags.js';
import type { Reporter } from './reporter.js';
import { signingKeyFile } from './signer-from-env.js';
import { parseOptions } from './table/commands.js';
import { usage } from './table/render-help.js';

const DAY_MS = 86_400_000;

/**
 * `pkgpub keys extend`: the signing key re-certified to expire N days from now (same fingerprint,
 * same key material), the secret written back only to --out, the public key and bundle published
 * in one transaction. Users who saved the old public key must fetch it again before its old
 * expiry: the output and the root page say so, with the date.
 */
export async function runKeysExtend(args: string[], r: Reporter): Promise<void> {
  const { values } = parseArgs({
    args,
    options: parseOptions('keys extend'),
  });
  const days = Number(values.days);
  if (values.days === undefined || !Number.isInteger(days) || days < 1)
    throw new UsageError(
      `keys extend: --days must be a whole number of days from now, at least 1\n${usage('keys extend')}`,
    );
  const dryRun = values['dry-run'];
  if (values.out === undefined && !dryRun)
    throw new UsageError(
      `keys extend: --out FILE is required: the re-certified secret key is written there, and nowhere else\n${usage('keys extend')}`,
    );
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, values['base-url'] ? { baseUrl: values['base-url'] } : {});
  const keyFile = signingKeyFile(values['signing-key'], file);
  const envKey = process.env.PKGPUB_SIGNING_KEY;
  if (keyFile === undefined && !envKey)
    throw new UsageError('keys extend: no signing key: pass --signing-key FILE or set PKGPUB_SIGNING_KEY');
  if (values.out !== undefined && !values.force && !dryRun && (await exists(values.out)))
    throw new UsageError(`${values.out} exists; not overwriting a key (--force replaces it)`);

  const now = new Date();
  const key = await readSigningKey(keyFile !== undefined ? { keyFile } : { keyArmored: envKey! });
  const fingerprint = key.getFingerprint().toUpperCase();
  const wanted = new Date(now.getTime() + days * DAY_MS);
  const current = expiryOf(key.getCreationTime(), newest(key.users.flatMap((u) => u.selfCertifications)));
  if (current === null || current.getTime() >= wanted.getTime())
    throw new UsageError(
      `keys extend: signing key ${fingerprint} ${current === null ? 'never expires' : `already expires on ${day(current)}`}; --days ${days} (${day(wanted)}) would not extend it`,
    );
  const unlocked = await unlockForExtend(key, process.env.PKGPUB_SIGNING_PASSPHRASE);
  const extended = await extendKey({ key, unlocked, expires: wanted, now });
  const publicArmored = extended.key.toPublic().armor();

  const store = await targetStore(values);
  const cdn = cdnFromSettings(values['cloudfront-distribution'], file, values.to);
  // The secret first: a publish that then fails leaves a key file to run `keys extend` with again,
  // never a published key whose secret was not kept.
  if (!dryRun) await writeSecret(values.out!, extended.key.armor(), values.force);
  const result = await publishExtendedKey({
    store,
    cfg,
    now,
    dryRun,
    fingerprint,
    publicArmored,
    previousExpiry: extended.previousExpiry,
    expires: extended.expires,
    ...(cdn ? { cdn } : {}),
    progress: { onStep: (l) => (values.json ? undefined : r.info(l)) },
  });
  const rep = result.report;
  const url = `${cfg.baseUrl}/${rep.bundle}`;
  const was = rep.previousExpiry === null ? null : new Date(rep.previousExpiry);
  // An already expired key (the usual reason to extend late): old copies verify nothing any more.
  const notice =
    was === null
      ? null
      : was.getTime() > now.getTime()
        ? `anyone who saved the public key before today must fetch ${url} again before ${day(was)}, when their copy expires (gpg --show-keys shows the expiry of a copy)`
        : `copies of the public key saved before today expired on ${day(was)}: anyone holding one must fetch ${url} again`;
  if (values.json) {
    r.out(
      JSON.stringify({
        target: store.description,
        dryRun,
        fingerprint,
        previousExpiry: rep.previousExpiry,
        expires: extended.expires.toISOString(),
        secretKey: dryRun ? null : values.out,
        perKey: rep.perKey,
        bundle: rep.bundle,
        bundleKeys: rep.bundleKeys,
        notice,
        plan: planJson(result.plan),
        attempts: result.attempts,
        ...(result.applied ? { applied: result.applied } : {}),
        ...(result.cdn ? { cdn: result.cdn } : {}),
      }),
    );
    return;
  }
  r.out(
    `signing key ${fingerprint} now expires on ${day(extended.expires)} (was ${rep.previousExpiry ? day(new Date(rep.previousExpiry)) : 'never'})`,
  );
  if (dryRun) {
    const writes = result.plan.tiers.reduce((n, t) => n + t.steps.length, 0);
    r.out(`dry run: no secret key written; ${writes} writes would be made in ${store.description}`);
    for (const l of describePlan(result.plan)) r.out(l);
  } else {
    r.out(
      `secret key written to ${values.out} (mode 600${unlocked === key ? ', no passphrase' : ', same passphrase'})`,
    );
    const a = result.applied ?? { written: 0, deleted: 0, bytes: 0 };
    r.out(
      `published ${rep.perKey} and ${rep.bundle} (${rep.bundleKeys.length} key(s)) to ${store.description}: ${a.written} written (${formatBytes(a.bytes)})`,
    );
    r.info(
      `sign with ${values.out} from now on (PKGPUB_SIGNING_KEY or --signing-key): a publish with the old export stops with a conflict on ${rep.perKey}`,
    );
  }
  if (notice) r.out(`notice: ${notice}`);
  reportCdn(result.cdn, r, false);
}

/** Owner-only from its first byte: a temp file made 0600 in the same folder, renamed over the name. */
async function writeSecret(path: string, armored: string, force: boolean): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write ${path}: ${err.code ?? 'error'}`);
  });
  try {
    await fh.writeFile(armored);
    await fh.sync();
    await fh.close();
    await chmod(tmp, 0o600);
    if (!force && (await exists(path)))
      throw new UsageError(`${path} exists; not overwriting a key (--force replaces it)`);
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
