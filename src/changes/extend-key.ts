import { armor, enums, type PublicKey } from 'openpgp';
import { addKeyExtension, KEY_NOTICES_KEY, parseKeyNotices, renderKeyNotices } from '../model/key-notices.js';
import { bytesFile } from '../model/output-file.js';
import { keyNames } from '../repos/apt/apt-extras.js';
import { expiryOf, keysIn, newest } from '../signing/key-report.js';
import { type ChangeOptions, runTransaction, type TransactionResult } from '../transaction/transaction.js';

export interface ExtendKeyRequest extends ChangeOptions {
  fingerprint: string;
  /** The re-certified public key, armored exactly as a publish with the new secret writes it. */
  publicArmored: string;
  /** The key file's expiry before: what users hold when nothing was published yet; null: never. */
  previousExpiry: Date | null;
  expires: Date;
}

export interface ExtendKeyReport {
  fingerprint: string;
  perKey: string;
  bundle: string;
  /** Fingerprints the bundle holds after the change, in order. */
  bundleKeys: string[];
  /** When the copies users saved stop verifying: the published copy's expiry (else the key file's); null: never. */
  previousExpiry: string | null;
}

/**
 * Publishes a re-certified signing key: its per-key file and the bundle (the same key replaced in
 * place, any other key the bundle holds kept as it is), plus the record the root page's notice
 * comes from, all in one transaction. The per-key file is rewritten in the index tier, not as an
 * immutable blob: it is the same key with newer signatures, and caches must not keep the old copy.
 */
export function publishExtendedKey(req: ExtendKeyRequest): Promise<TransactionResult<ExtendKeyReport>> {
  return runTransaction(
    { ...req, command: 'keys extend' },
    {
      async describe({ store, cfg, now }) {
        const names = keyNames(cfg, req.fingerprint);
        const current = await store.get(names.alias);
        // An unreadable bundle is replaced: users cannot use it as it is anyway.
        const held = current ? await keysIn(current, names.alias).catch(() => []) : [];
        const [extended] = await keysIn(new TextEncoder().encode(req.publicArmored), 'the extended key');
        const isOurs = (k: PublicKey) => k.getFingerprint().toUpperCase() === req.fingerprint;
        const bundle = held.some(isOurs)
          ? held.map((k) => (isOurs(k) ? extended! : k))
          : [...held, extended!];
        // One key: byte for byte what a publish with the new secret writes, so that publish finds it unchanged.
        const bundleText =
          bundle.length === 1
            ? req.publicArmored
            : armor(enums.armor.publicKey, Buffer.concat(bundle.map((k) => k.write())));
        const bundleKeys = bundle.map((k) => k.getFingerprint().toUpperCase());
        // What users hold is what was published; the key file may have been extended elsewhere since.
        const published = held.find(isOurs);
        const previous = published
          ? expiryOf(
              published.getCreationTime(),
              newest(published.users.flatMap((u) => u.selfCertifications)),
            )
          : req.previousExpiry;
        const notices = addKeyExtension(
          parseKeyNotices(await store.get(KEY_NOTICES_KEY)),
          {
            fingerprint: req.fingerprint,
            date: now.toISOString(),
            previousExpiry: previous?.toISOString() ?? null,
            expires: req.expires.toISOString(),
          },
          now,
        );
        return {
          outputs: [
            bytesFile(names.perKey, 'index', req.publicArmored),
            bytesFile(names.alias, 'index', bundleText),
            bytesFile(KEY_NOTICES_KEY, 'index', renderKeyNotices(notices)),
          ],
          report: {
            fingerprint: req.fingerprint,
            perKey: names.perKey,
            bundle: names.alias,
            bundleKeys,
            previousExpiry: previous?.toISOString() ?? null,
          },
        };
      },
    },
  );
}
