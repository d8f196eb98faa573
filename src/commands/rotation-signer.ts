import { readKeysState, rotationSigner } from '../repos/keys-state.js';
import { loadSigner } from '../signing/load-key.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Reporter } from './reporter.js';

/**
 * The new key of a rotation: --new-key FILE or PKGPUB_NEW_SIGNING_KEY (armored text), its
 * passphrase from PKGPUB_NEW_SIGNING_PASSPHRASE; undefined when neither is given.
 */
export async function newSignerFromEnv(
  opts: { keyFile?: string | undefined; now?: Date },
  r: Reporter,
): Promise<Signer | undefined> {
  const envKey = process.env.PKGPUB_NEW_SIGNING_KEY;
  if (!opts.keyFile && !envKey) return undefined;
  const passphrase = process.env.PKGPUB_NEW_SIGNING_PASSPHRASE;
  const { signer, warnings } = await loadSigner({
    ...(opts.keyFile ? { keyFile: opts.keyFile } : { keyArmored: envKey! }),
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    passphraseVar: 'PKGPUB_NEW_SIGNING_PASSPHRASE',
  });
  for (const w of warnings) r.warn(`new key: ${w}`);
  return signer;
}

/**
 * The signer a command that signs must use on this tree: its own key, or during a key rotation
 * (`.pkgpub-keys.json`) both keys in the order the phase says, the new one loaded from
 * PKGPUB_NEW_SIGNING_KEY only when the rotation needs it. Unsigned commands stay unsigned.
 */
export async function signerForTree(
  store: ObjectStore,
  signer: Signer | undefined,
  opts: { newKeyFile?: string | undefined; now?: Date },
  r: Reporter,
): Promise<Signer | undefined> {
  if (!signer) return undefined;
  const state = await readKeysState(store);
  if (!state) return signer;
  const extra =
    state.phase === 'retired'
      ? undefined
      : await newSignerFromEnv({ keyFile: opts.newKeyFile, ...(opts.now ? { now: opts.now } : {}) }, r);
  const chosen = rotationSigner(
    state,
    extra && extra.fingerprint !== signer.fingerprint ? [signer, extra] : [signer],
  );
  if (chosen !== signer) r.info(`key rotation in phase "${state.phase}": signing with ${chosen}`);
  return chosen;
}
