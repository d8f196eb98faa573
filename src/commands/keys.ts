import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { generateKeyPair } from '../signing/generate-key.js';
import { runKeysCheck } from './keys-check.js';
import { runKeysExtend } from './keys-extend.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';
import { groupUsage } from './table/render-help.js';

/**
 * `pkgpub keys generate`: a new signing key for a project. The secret key goes to a 0600
 * file (never to stdout, which CI logs keep); its passphrase comes from PKGPUB_SIGNING_PASSPHRASE.
 */
export async function runKeys(args: string[], r: Reporter): Promise<void> {
  // Each subcommand in its own module; generate predates that.
  if (args[0] === 'check') return runKeysCheck(args.slice(1), r);
  if (args[0] === 'extend') return runKeysExtend(args.slice(1), r);
  const [sub, ...rest] = args;
  if (sub === 'rotate') return (await import('./keys-rotate.js')).runKeysRotate(rest, r);
  if (sub !== 'generate') throw new UsageError(groupUsage('keys'));
  const { values } = parseArgs({
    args: rest,
    options: parseOptions('keys generate'),
  });
  if (!values.name || !values.email) throw new UsageError('keys generate: --name and --email are required');
  if (values.type !== 'ed25519' && values.type !== 'rsa4096')
    throw new UsageError('--type must be ed25519 or rsa4096');
  const days = Number(values['expires-days']);
  if (!Number.isInteger(days) || days < 0)
    throw new UsageError('--expires-days must be a whole number (0: never)');
  const passphrase = process.env.PKGPUB_SIGNING_PASSPHRASE;
  const pair = await generateKeyPair({
    name: values.name,
    email: values.email,
    type: values.type,
    ...(passphrase ? { passphrase } : {}),
    ...(days > 0 ? { expiresInDays: days } : {}),
  });
  // Like `gpg --output`, a folder that does not exist yet is made (owner-only: it holds a secret).
  await mkdir(values.out, { recursive: true, mode: 0o700 });
  const secretPath = join(values.out, `${values.project}-signing-key.asc`);
  const publicPath = join(values.out, `${values.project}-public-key.asc`);
  await writeFile(secretPath, pair.privateArmored, { mode: 0o600, flag: 'wx' }).catch(
    (err: NodeJS.ErrnoException) => {
      throw new UsageError(
        err.code === 'EEXIST'
          ? `${secretPath} exists; not overwriting a key`
          : `cannot write ${secretPath}: ${err.code}`,
      );
    },
  );
  await writeFile(publicPath, pair.publicArmored);
  r.out(`fingerprint ${pair.fingerprint}`);
  r.out(
    `secret key  ${secretPath} (mode 600${passphrase ? ', passphrase from PKGPUB_SIGNING_PASSPHRASE' : ', no passphrase'})`,
  );
  r.out(`public key  ${publicPath}`);
  r.info('keep the secret key out of the repository; in CI pass it as PKGPUB_SIGNING_KEY');
}
