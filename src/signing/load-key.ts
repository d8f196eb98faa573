import { readFile } from 'node:fs/promises';
import { decryptKey, type PrivateKey, readKeys, readPrivateKey } from 'openpgp';
import { SigningError } from '../errors.js';
import { assessKey } from './key-health.js';
import { libraryReason, OpenPgpSigner } from './openpgp-signer.js';
import type { Signer } from './signer.js';

export interface LoadSignerOptions {
  /** Path to an armored or binary secret key export (`--signing-key FILE`). */
  keyFile?: string;
  /** The armored secret key itself (PKGPUB_SIGNING_KEY). */
  keyArmored?: string;
  passphrase?: string;
  /** The moment to judge the key at and to date signatures; the real clock when absent. */
  now?: Date;
  /** Where the passphrase comes from, for the message when it is missing (PKGPUB_SIGNING_PASSPHRASE). */
  passphraseVar?: string;
}

/**
 * Loads, checks and unlocks the signing key. Every failure is a one-line SigningError that names
 * the key by fingerprint at most: no key text, no passphrase, and no `cause` (library errors are
 * reduced to a vetted reason) so nothing secret can reach what the CLI prints.
 */
export async function loadSigner(opts: LoadSignerOptions): Promise<{ signer: Signer; warnings: string[] }> {
  const source = opts.keyFile !== undefined ? `signing key file ${opts.keyFile}` : 'the given signing key';
  const key = await parseKey(await keyBytes(opts), source);
  const now = opts.now ?? new Date();
  const health = await assessKey(key, now);
  const unlocked = await unlock(key, opts.passphrase, opts.passphraseVar ?? 'PKGPUB_SIGNING_PASSPHRASE');
  const signer = new OpenPgpSigner({
    key: unlocked,
    signingKey: unlocked.getKeys(health.signingKey.getKeyID())[0] ?? health.signingKey,
    hashAlgorithm: health.hashAlgorithm,
    ...(opts.now ? { now: opts.now } : {}),
  });
  await signer.checkPrehashPath();
  return { signer, warnings: health.warnings };
}

async function keyBytes(opts: LoadSignerOptions): Promise<Uint8Array | string> {
  if (opts.keyFile !== undefined && opts.keyArmored !== undefined) {
    throw new SigningError('give the signing key either as a file or as text, not both');
  }
  if (opts.keyArmored !== undefined) {
    if (opts.keyArmored.trim() === '') throw new SigningError('the signing key text is empty');
    // CI secret stores sometimes hand multi-line values over with literal "\n" escapes.
    const text = opts.keyArmored;
    return !text.includes('\n') && text.includes('\\n') ? text.replace(/\\n/g, '\n') : text;
  }
  if (opts.keyFile === undefined) {
    throw new SigningError('no signing key: set PKGPUB_SIGNING_KEY or pass --signing-key FILE');
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(opts.keyFile);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SigningError(
      `cannot read signing key file ${opts.keyFile}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}`,
    );
  }
  if (bytes.length === 0) throw new SigningError(`signing key file ${opts.keyFile} is empty`);
  const head = bytes.subarray(0, 64).toString('latin1');
  return head.includes('-----BEGIN PGP') ? bytes.toString('utf8') : new Uint8Array(bytes);
}

async function parseKey(data: Uint8Array | string, source: string): Promise<PrivateKey> {
  const text = typeof data === 'string' ? data : null;
  if (text !== null && !text.includes('-----BEGIN PGP')) {
    throw new SigningError(`${source} is not an armored OpenPGP key (no -----BEGIN PGP line)`);
  }
  if (text?.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----') && !text.includes('PRIVATE KEY BLOCK-----')) {
    throw new SigningError(
      `${source} is a public key; export the secret key (gpg --export-secret-keys --armor)`,
    );
  }
  try {
    return text !== null
      ? await readPrivateKey({ armoredKey: text })
      : await readPrivateKey({ binaryKey: data as Uint8Array });
  } catch {
    // A binary public key export or a keyring of several keys: tell which, else a generic reason.
  }
  let keys: Awaited<ReturnType<typeof readKeys>> = [];
  try {
    keys =
      text !== null
        ? await readKeys({ armoredKeys: text })
        : await readKeys({ binaryKeys: data as Uint8Array });
  } catch {
    throw new SigningError(`${source} cannot be parsed as an OpenPGP private key`);
  }
  if (keys.length > 1) {
    throw new SigningError(`${source} holds ${keys.length} keys; export only the one to sign with`);
  }
  if (keys.length === 1 && !keys[0]!.isPrivate()) {
    throw new SigningError(
      `${source} is not a private key; export the secret key (gpg --export-secret-keys)`,
    );
  }
  throw new SigningError(`${source} cannot be parsed as an OpenPGP private key`);
}

async function unlock(
  key: PrivateKey,
  passphrase: string | undefined,
  passphraseVar: string,
): Promise<PrivateKey> {
  const fpr = key.getFingerprint().toUpperCase();
  if (key.isDecrypted()) return key;
  if (passphrase === undefined || passphrase === '') {
    throw new SigningError(`signing key ${fpr} is protected by a passphrase: set ${passphraseVar}`);
  }
  try {
    return await decryptKey({ privateKey: key, passphrase });
  } catch (err) {
    const reason = libraryReason(err);
    if (/passphrase|checksum|modification detected|authentication/i.test(reason)) {
      throw new SigningError(`wrong passphrase for signing key ${fpr}`);
    }
    throw new SigningError(`signing key ${fpr} cannot be unlocked: ${reason}`);
  }
}

/**
 * The signing key as publish reads it, still locked: what `keys check` inspects and `keys extend`
 * re-certifies (an expired or SHA-1-bound key, which loadSigner refuses, is what extend repairs).
 * Same one-line errors as loadSigner.
 */
export async function readSigningKey(
  opts: Pick<LoadSignerOptions, 'keyFile' | 'keyArmored'>,
): Promise<PrivateKey> {
  const source = opts.keyFile !== undefined ? `signing key file ${opts.keyFile}` : 'the given signing key';
  return parseKey(await keyBytes(opts), source);
}
