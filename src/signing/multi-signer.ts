import { inspect } from 'node:util';
import { armor, enums, unarmor } from 'openpgp';
import { SigningError } from '../errors.js';
import type { PrehashTemplate } from './prehash.js';
import type { Signer } from './signer.js';

/**
 * Several keys as one Signer, for a key rotation: the armored signatures `clearsign` and
 * `detachSignArmored` make (apt's InRelease and Release.gpg) carry one signature per key in one
 * armored block, and apt accepts a Release that any key it trusts signed. Package signatures (an
 * rpm's header signature, a blob's `.asc` from a precomputed digest) come from the first key
 * alone: an rpm 4.18 header holds one signature per algorithm. Files whose readers want every
 * signature checkable (repomd.xml.asc: librepo judges the first; SHA256SUMS.asc: gpg exits 2 on
 * a key it lacks) are signed through `packageSigner`.
 *
 * The signatures are those of each key's own Signer, put together here, so any Signer composes
 * (the tests' deterministic wrapper included) and no builder needs to know there are two keys.
 */
export class MultiSigner implements Signer {
  readonly fingerprint: string;
  readonly keyId: string;
  readonly signingKeyFingerprint: string;
  readonly userIds: string[];
  readonly #bundle: string;

  constructor(readonly signers: readonly Signer[]) {
    const first = signers[0];
    if (!first) throw new SigningError('a multi-key signer needs at least one key');
    const fprs = new Set(signers.map((s) => s.fingerprint));
    if (fprs.size !== signers.length) throw new SigningError('the same key was given twice');
    this.fingerprint = first.fingerprint;
    this.keyId = first.keyId;
    this.signingKeyFingerprint = first.signingKeyFingerprint;
    this.userIds = first.userIds;
    this.#bundle = bundleCertificates(signers.map((s) => s.publicKeyArmored()));
  }

  /** The key packages are signed with. */
  get primary(): Signer {
    return this.signers[0]!;
  }

  /** Every key's certificate in one armored block: the `keys/<project>-packages.asc` users fetch. */
  publicKeyArmored(): string {
    return this.#bundle;
  }

  async clearsign(text: string): Promise<string> {
    const each = await Promise.all(this.signers.map((s) => s.clearsign(text)));
    // Every part has the same escaped text (the same input and rules); only the signatures differ.
    const parts = each.map(splitClearsigned);
    const hashes = [...new Set(parts.flatMap((p) => p.hashes))];
    const signature = await combineSignatures(parts.map((p) => p.signature));
    return `-----BEGIN PGP SIGNED MESSAGE-----\nHash: ${hashes.join(',')}\n\n${parts[0]!.body}\n${signature}`;
  }

  async detachSignArmored(data: Uint8Array): Promise<string> {
    return combineSignatures(await Promise.all(this.signers.map((s) => s.detachSignArmored(data))));
  }

  detachSignBinary(data: Uint8Array): Promise<Uint8Array> {
    return this.primary.detachSignBinary(data);
  }

  detachSignBinaryMany(data: Uint8Array[]): Promise<Uint8Array[]> {
    return this.primary.detachSignBinaryMany(data);
  }

  prehashTemplate(): PrehashTemplate | undefined {
    return this.primary.prehashTemplate();
  }

  signPrehashed(template: PrehashTemplate, digestHex: string): Promise<string> {
    return this.primary.signPrehashed(template, digestHex);
  }

  signPrehashedMany(template: PrehashTemplate, digestsHex: string[]): Promise<string[]> {
    return this.primary.signPrehashedMany(template, digestsHex);
  }

  toString(): string {
    return `MultiSigner(${this.signers.map((s) => s.fingerprint).join(', ')})`;
  }

  toJSON(): { fingerprints: string[] } {
    return { fingerprints: this.signers.map((s) => s.fingerprint) };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** The keys a signer signs with, first the one that signs packages. */
export function signersOf(signer: Signer): readonly Signer[] {
  return signer instanceof MultiSigner ? signer.signers : [signer];
}

/** The signer of packages and their `.asc`: the first key of a rotation, else the signer itself. */
export function packageSigner(signer: Signer): Signer {
  return signer instanceof MultiSigner ? signer.primary : signer;
}

function splitClearsigned(text: string): { hashes: string[]; body: string; signature: string } {
  const head = /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: ([^\n]+)\n\n/.exec(text);
  const sigAt = text.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  if (!head || sigAt < 0) throw new SigningError('a key made a cleartext signature of an unexpected shape');
  return {
    hashes: head[1]!.split(',').map((h) => h.trim()),
    body: text.slice(head[0].length, sigAt),
    signature: text.slice(sigAt + 1),
  };
}

/** One armored block holding the packets of every armored input, in order. */
async function combineSignatures(armored: string[]): Promise<string> {
  if (armored.length === 1) return armored[0]!;
  const packets = await Promise.all(armored.map(async (a) => (await unarmor(a)).data as Uint8Array));
  return armor(enums.armor.signature, concat(packets), undefined, undefined, undefined, true);
}

function bundleCertificates(armored: string[]): string {
  if (armored.length === 1) return armored[0]!;
  // Decoded synchronously from the armor (base64 between the blank line and the checksum line):
  // the constructor cannot await, and the keys are ours, already parsed by openpgp.js.
  const packets = armored.map(dearmorSync);
  return armor(enums.armor.publicKey, concat(packets), undefined, undefined, undefined, true);
}

function dearmorSync(text: string): Uint8Array {
  const lines = text.split(/\r?\n/);
  const begin = lines.findIndex((l) => l.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'));
  if (begin < 0) throw new SigningError('a certificate is not an armored public key');
  const blank = lines.findIndex((l, i) => i > begin && l.trim() === '');
  const body: string[] = [];
  for (const l of lines.slice(blank + 1)) {
    if (l.startsWith('=') || l.startsWith('-----')) break;
    body.push(l.trim());
  }
  return new Uint8Array(Buffer.from(body.join(''), 'base64'));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
