/**
 * The one seam every builder signs through. Implementations hold the secret key out of reach of
 * logging: toString, JSON and util.inspect show only the fingerprint.
 *
 * Every signature is a v4 OpenPGP signature with a SHA-256-or-stronger digest, because apt's sqv,
 * gpgv on Debian 12 and rpm 4.18 verify v4 and sqv refuses SHA-1.
 */
import type { PrehashTemplate } from './prehash.js';

export interface Signer {
  /** Primary key fingerprint: 40 hex digits, upper case (as gpg prints it). */
  readonly fingerprint: string;
  /** Primary key id: the fingerprint's last 16 hex digits, upper case. */
  readonly keyId: string;
  /** Fingerprint of the (sub)key that actually makes the signatures (upper case; may equal `fingerprint`). */
  readonly signingKeyFingerprint: string;
  readonly userIds: string[];
  /** The certificate users import (`signed-by=`, `gpgkey=`): armored, public parts only. */
  publicKeyArmored(): string;
  /**
   * Cleartext-signs `text` (InRelease). Lines are LF-separated; trailing spaces and tabs on a line
   * are not part of an OpenPGP cleartext signature, so they are dropped from the output. One final
   * LF of `text` becomes the separator before the signature block, as gpg --clearsign does.
   */
  clearsign(text: string): Promise<string>;
  /** Armored detached signature over the exact bytes (Release.gpg, repomd.xml.asc, `*.asc`). */
  detachSignArmored(data: Uint8Array): Promise<string>;
  /** The raw v4 signature packet bytes, unarmored (rpm's RSAHEADER / OPENPGP header tags). */
  detachSignBinary(data: Uint8Array): Promise<Uint8Array>;
  /** detachSignBinary of each, in order; RSA signatures are made on every core. */
  detachSignBinaryMany(data: Uint8Array[]): Promise<Uint8Array[]>;
  /**
   * The trailer for detached signatures whose digest a reader computes in its own pass over the
   * file (see prehash.ts); undefined when this signer can only sign bytes it hashes itself.
   */
  prehashTemplate(): PrehashTemplate | undefined;
  /** Armored detached signature from `digestHex` = sha256(data || template.trailer). */
  signPrehashed(template: PrehashTemplate, digestHex: string): Promise<string>;
  /** signPrehashed of each digest, in order; RSA signatures are made on every core. */
  signPrehashedMany(template: PrehashTemplate, digestsHex: string[]): Promise<string[]>;
}
