import { UsageError } from '../errors.js';
import { loadSigner } from '../signing/load-key.js';
import type { Signer } from '../signing/signer.js';
import type { Reporter } from './reporter.js';

/**
 * The key file to use: the flag's, else the config file's unless PKGPUB_SIGNING_KEY holds a key.
 * The environment wins over the file so that a CI job with the key in a secret works with the
 * pkgpub.yaml `pkgpub init` wrote, whose key_file exists only on the maintainer's machine.
 */
export function signingKeyFile(
  flag: string | undefined,
  file: { signing?: { key_file?: string | undefined } | undefined },
): string | undefined {
  return flag ?? (process.env.PKGPUB_SIGNING_KEY ? undefined : file.signing?.key_file);
}

/**
 * The signing key comes from --signing-key FILE or PKGPUB_SIGNING_KEY (armored text), its
 * passphrase from PKGPUB_SIGNING_PASSPHRASE; never from a flag, so it stays out of `ps` and logs.
 */
export async function signerFromEnv(
  opts: { keyFile?: string | undefined; unsigned?: boolean | undefined; now?: Date },
  r: Reporter,
): Promise<Signer | undefined> {
  const envKey = process.env.PKGPUB_SIGNING_KEY;
  if (opts.unsigned) {
    if (opts.keyFile || envKey) throw new UsageError('--unsigned cannot be combined with a signing key');
    r.warn('publishing UNSIGNED: apt users need [trusted=yes], dnf users gpgcheck=0');
    return undefined;
  }
  if (!opts.keyFile && !envKey)
    throw new UsageError(
      'no signing key: pass --signing-key FILE or set PKGPUB_SIGNING_KEY (make one with `pkgpub keys generate`), or say --unsigned',
    );
  const passphrase = process.env.PKGPUB_SIGNING_PASSPHRASE;
  const { signer, warnings } = await loadSigner({
    ...(opts.keyFile ? { keyFile: opts.keyFile } : { keyArmored: envKey! }),
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  for (const w of warnings) r.warn(w);
  return signer;
}
