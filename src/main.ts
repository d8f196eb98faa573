import { parseArgs } from 'node:util';
import { ADOPT_USAGE, runAdopt } from './commands/adopt.js';
import { inspect } from './commands/inspect.js';
import { runDrivers } from './commands/drivers.js';
import { runHistory } from './commands/history.js';
import { runKeys } from './commands/keys.js';
import { runPromote } from './commands/promote.js';
import { runPublish } from './commands/publish.js';
import { runRollback } from './commands/rollback.js';
import { runServe } from './commands/serve.js';
import { runSite } from './commands/site.js';
import type { Reporter } from './commands/reporter.js';
import { exitCodeFor, PkgpubError, UsageError } from './errors.js';

const USAGE = `pkgpub — publish packages as signed apt/yum repositories, driver indexes and a browsable site

Usage:
  pkgpub publish ARTIFACT_OR_DIR... [--to DIR|s3://BUCKET/PREFIX] [--channel stable|dev]
                 [--signing-key FILE | --unsigned] [--dry-run] [--force] [--json] [--config pkgpub.yaml]
                 [--base-url URL] [--component C] [--concurrency N] [--driver-version V] [--arch A]
                 [--endpoint URL] [--region R] [--force-path-style]   (for --to s3://...)
                 [--no-sign-rpms] [--resign] [--hardlink] [--cloudfront-distribution ID]
                 [--verify]   end with pkgpub verify of what it wrote (through base_url when set); exit 1 on errors
  pkgpub remove NAME[=VERSION]... [--to ...] [--channel ...] [same signing flags]
  pkgpub prune [--channel dev] [--keep N] [--max-size SIZE] [--older-than AGE] [--protect NAME=VERSION]...
               [--apply] [--allow-stable] [--json] [--to DIR|s3://...] [--config pkgpub.yaml] [--gc-grace SECONDS]
               [--signing-key FILE | --unsigned] [--no-sign-rpms] [--endpoint URL] [--region R] [--force-path-style]
               [--cloudfront-distribution ID]
               retention for a channel's debs, rpms and tarballs (or retention.<channel> in pkgpub.yaml);
               a dry run unless --apply; the stable channel only with --allow-stable
  pkgpub drivers prune [--keep N] [--max-size SIZE] [--older-than AGE] [--protect VERSION]... [--apply]
                       [--to DIR|s3://...] [--json] [--signing-key FILE | --unsigned]
  pkgpub drivers rollback [--steps K] [--to ...] [--dry-run] [--json] [--gc-grace S]
                 put back the driver tree (index.json and version jsons) of K driver changes ago
  pkgpub drivers history [--to ...] [--json]   the driver tree's generations drivers rollback can go back to
  pkgpub promote NAME[=VERSION]... [--from-channel dev] [--to-channel stable] [--to DIR|s3://...]
                 [--signing-key FILE | --unsigned] [--allow-prerelease] [--dry-run] [--json]
                 [--config pkgpub.yaml] [--base-url URL] [--endpoint URL] [--region R] [--force-path-style]
                 [--cloudfront-distribution ID]   copies the published bytes into the other channel
  pkgpub rollback --channel stable|dev [--steps K] [--to ...] [--dry-run] [--json] [same signing flags]
                 put back the channel's apt, yum and tarball state of K changes ago (default 1) as a new signed generation
  pkgpub history --channel stable|dev [--to ...] [--json]   the generations rollback can go back to
  pkgpub site rebuild [--to DIR|s3://...] [--dry-run]    re-render every folder listing from a full listing
  pkgpub adopt [--to DIR|s3://...] [--channel C] [--signing-key FILE] [--hash] [--dry-run] [--json]
               [--gc-grace S] [--config F] [--endpoint URL] [--region R] [--force-path-style]
               take over a tree other tools made (pkgpub adopt --help: what it reads and what it costs;
               --hash reads every driver that has no sha256, i.e. downloads the driver tree)
  pkgpub serve [DIR] [--port 8080] [--host 127.0.0.1]
  pkgpub verify URL|DIR|s3://BUCKET/PREFIX [--key FILE]... [--deep] [--json] [--concurrency N]
                [--endpoint URL] [--region R] [--force-path-style]
                check a published site (any tool's) as apt, dnf, rpm and driver loaders read it;
                exit 1 when it found errors
  pkgpub keys generate --name NAME --email EMAIL [--type ed25519|rsa4096] [--out DIR] [--project P]
  pkgpub keys check [KEY_FILE] [--to DIR|s3://...] [--warn-days 60] [--json]
               the signing key and the published keys by publish's rules: exit 1 on an error, 0 with warnings
  pkgpub keys extend --days N --out FILE [--force] [--to DIR|s3://...] [--dry-run] [--json] [same signing flags]
               re-certify the signing key to expire N days from now and publish it (same fingerprint)
  pkgpub keys rotate add|switch|retire [--to ...] [--signing-key FILE] [--new-key FILE] [--revocation FILE]
                 [--dry-run] [--json]   replace the signing key in three steps (README: keys rotate)
  pkgpub inspect FILE_OR_DIR... [--json] [--driver-version V] [--arch A]
  pkgpub help

Retention: SIZE is bytes or a number with B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (10GB); AGE is a whole
number with m, h, d or w (30d, 12h). The newest version of each package and protected versions always stay.

CDN: --cloudfront-distribution ID (or cdn.cloudfront in pkgpub.yaml) invalidates what publish, remove,
promote, prune --apply, drivers prune --apply and site rebuild change in place; PKGPUB_CLOUDFRONT_ENDPOINT
overrides the endpoint.

promote: both channels are in the tree --to names. Without =VERSION the newest the source channel
holds is taken; prereleases (~rc1, -rc1, rpm release 0.rc1) need --allow-prerelease. Packages, their
.asc and tarballs are copied inside the store (S3: CopyObject), never rebuilt or re-signed; the
target's indexes are merged and signed. A version the target holds with other bytes is refused.

--hardlink (folder targets): link input files into the tree instead of copying them (same file system;
copies elsewhere). The published files then share the inputs' bytes: never rewrite an input in place.

History: publish, remove and rollback keep each channel's last N generations (rollback.generations in
pkgpub.yaml, default 5) and every object they name; what only older generations named is deleted after
--gc-grace once it falls out of the history. The driver tree, shared by every channel, keeps its own
(publishes of drivers, drivers prune, drivers rollback): see drivers history.

Signing key: --signing-key FILE or PKGPUB_SIGNING_KEY (armored); passphrase: PKGPUB_SIGNING_PASSPHRASE.

Exit codes: 0 done, 1 failed, 2 bad usage or config.`;

/** A command's exit status when it finished but found a problem (verify: 1 with errors); else 0. */
type Command = (args: string[], r: Reporter) => Promise<unknown>;

const commands: Record<string, Command> = {
  async inspect(args, r) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'driver-version': { type: 'string' },
        arch: { type: 'string' },
      },
    });
    if (positionals.length === 0) throw new UsageError('inspect: name at least one file or folder');
    const driver: { driverVersion?: string; arch?: string } = {};
    if (values['driver-version']) driver.driverVersion = values['driver-version'];
    if (values.arch) driver.arch = values.arch;
    await inspect(positionals, { json: values.json ?? false, driver }, r);
  },
  publish: (args, r) => runPublish(args, r, 'publish'),
  remove: (args, r) => runPublish(args, r, 'remove'),
  // Loaded on use: it reads tarball names with the tarball reader, which brings tar-stream along.
  prune: async (args, r) => (await import('./commands/prune.js')).runPrune(args, r),
  promote: runPromote,
  rollback: runRollback,
  history: runHistory,
  keys: runKeys,
  drivers: runDrivers,
  site: runSite,
  adopt: runAdopt,
  serve: runServe,
  // Loaded on use: only verify needs its checkers.
  verify: async (args, r) => (await import('./commands/verify.js')).runVerify(args, r),
  async help(_args, r) {
    r.out(USAGE);
  },
};

/** Runs one pkgpub command line; returns the exit status. Never prints except through `r`. */
export async function main(argv: string[], r: Reporter): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    r.out(USAGE);
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  const ownArgs = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (cmd && (ownArgs.includes('--help') || ownArgs.includes('-h'))) {
    r.out(name === 'adopt' ? ADOPT_USAGE : USAGE);
    return 0;
  }
  try {
    if (!cmd) throw new UsageError(`unknown command "${name}" (see pkgpub help)`);
    const status = await cmd(rest, r);
    return typeof status === 'number' ? status : 0;
  } catch (err) {
    reportError(err, r);
    return exitCodeFor(err);
  }
}

function reportError(err: unknown, r: Reporter): void {
  if (err instanceof PkgpubError) {
    r.info(`error: ${err.message}`);
    if (process.env.PKGPUB_DEBUG && err.cause) r.info(String((err.cause as Error).stack ?? err.cause));
    return;
  }
  // parseArgs throws TypeErrors with a code for unknown or malformed flags.
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    r.info(`error: ${(err as Error).message}`);
    return;
  }
  r.info(`error: internal: ${(err as Error)?.message ?? String(err)}`);
  if (process.env.PKGPUB_DEBUG) r.info(String((err as Error)?.stack));
}
