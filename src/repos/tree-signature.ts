import { readKeys } from 'openpgp';
import { SigningError } from '../errors.js';
import { signatureIssuers } from '../signing/issuers.js';
import { signersOf } from '../signing/multi-signer.js';
import type { Signer } from '../signing/signer.js';

/**
 * The key ids (16 hex digits, upper case) that signed a pointer as published: InRelease, or a
 * detached `.asc`. [] when the pointer is not signed, or its signature cannot be read (verify
 * reports that; a publish then does not judge by it).
 */
export async function pointerSigners(signature: Uint8Array | undefined): Promise<string[]> {
  if (!signature) return [];
  // A v4 key id is its fingerprint's last 16 digits.
  return (await signatureIssuers(new TextDecoder().decode(signature))).map((i) => i.slice(-16).toUpperCase());
}

/**
 * A publish must sign a pointer with a key that already signs it: an unsigned publish would leave
 * the old signature beside new indexes (InRelease then names hashes the files no longer have, and
 * apt update fails), and another key would be rejected by every client that trusts the tree's key.
 * Changing keys is `pkgpub keys rotate`'s job, whose signer holds both keys. A pointer never signed
 * may start being signed, and a pointer another tool signed (by a key the tree does not publish
 * as its own) is taken over by a signed publish, as `pkgpub adopt` takes it over.
 */
export function assertSignerOfPointer(
  pointer: string,
  signedBy: string[] | undefined,
  signer: Signer | undefined,
  /** Key ids of the keys the tree publishes (SectionContext.treeKeyIds). */
  treeKeyIds?: string[],
): void {
  if (!signedBy || signedBy.length === 0) return;
  if (!signer)
    throw new SigningError(
      `${pointer} is signed by key ${signedBy.join(', ')}: a publish without a key would leave that signature over indexes it no longer describes; give the signing key (--signing-key or PKGPUB_SIGNING_KEY)`,
    );
  // Signed by none of the keys the tree publishes: another tool's pointer, taken over.
  if (treeKeyIds && !signedBy.some((id) => treeKeyIds.includes(id))) return;
  const mine = new Set(signersOf(signer).flatMap((s) => [s.keyId, s.signingKeyFingerprint.slice(-16)]));
  if (signedBy.some((id) => mine.has(id))) return;
  throw new SigningError(
    `${pointer} is signed by key ${signedBy.join(', ')}, not by ${signer.fingerprint}: clients that trust the tree's key would reject what this publish signs; sign with that key, or change keys with pkgpub keys rotate`,
  );
}

/**
 * Key ids (16 hex digits, upper case) of every key and subkey in a published key file; [] when
 * there is none or it cannot be read.
 */
export async function publishedKeyIds(armored: Uint8Array | undefined): Promise<string[]> {
  if (!armored) return [];
  try {
    const keys = await readKeys({ armoredKeys: new TextDecoder().decode(armored) });
    return keys.flatMap((k) => [k, ...k.subkeys].map((x) => x.getKeyID().toHex().toUpperCase()));
  } catch {
    return [];
  }
}
