import { readFile } from 'node:fs/promises';
import type { PrehashTemplate } from '../signing/prehash.js';
import { packageSigner } from '../signing/multi-signer.js';
import type { Signer } from '../signing/signer.js';
import { bytesFile } from '../model/output-file.js';
import type { OutputFile } from '../model/tiers.js';

/**
 * Release, Release.gpg and InRelease, ordered so a client never meets an InRelease whose
 * Release is not there yet. Unsigned repositories get the Release file alone.
 */
export async function signedReleaseFiles(
  dists: string,
  release: string,
  signer?: Signer,
): Promise<OutputFile[]> {
  const out = [bytesFile(`${dists}/Release`, 'pointer', release, 0)];
  if (signer) {
    out.push(
      bytesFile(
        `${dists}/Release.gpg`,
        'pointer',
        await signer.detachSignArmored(new TextEncoder().encode(release)),
        1,
      ),
    );
    out.push(bytesFile(`${dists}/InRelease`, 'pointer', await signer.clearsign(release), 2));
  }
  return out;
}

/**
 * Signature digests computed while the bytes were hashed anyway (the read pass, the rpm signing
 * copy), keyed by the sha256 of the bytes they cover.
 */
export class SignatureDigests {
  readonly #bySha256 = new Map<string, string>();
  constructor(readonly template: PrehashTemplate | undefined) {}
  add(sha256: string, signatureDigest: string | undefined): void {
    if (signatureDigest) this.#bySha256.set(sha256, signatureDigest);
  }
  get(sha256: string): string | undefined {
    return this.#bySha256.get(sha256);
  }
}

/**
 * An armored detached `<key>.asc` for each blob, written in the blob tier beside it: from the
 * digest computed while reading when there is one, else by reading the blob again.
 */
export async function blobSignatures(
  blobs: OutputFile[],
  signer: Signer,
  digests?: SignatureDigests,
): Promise<OutputFile[]> {
  const armored = new Array<string>(blobs.length);
  // Those whose digest the read pass computed are signed together (on every core for RSA keys).
  const template = digests?.template;
  const known = blobs.flatMap((b, i) => {
    const digest = digests?.get(b.sha256);
    return digest ? [{ i, digest }] : [];
  });
  if (template && known.length > 0) {
    const signed = await signer.signPrehashedMany(
      template,
      known.map((k) => k.digest),
    );
    for (const [n, k] of known.entries()) armored[k.i] = signed[n]!;
  }
  for (const [i, b] of blobs.entries()) {
    // A copy's signature is copied with it (its bytes are not here to sign).
    if ('copyFrom' in b.body) throw new Error(`internal: ${b.key} is a copy and cannot be signed here`);
    // A package's .asc is the package signer's alone, like its prehashed signatures above.
    armored[i] ??= await packageSigner(signer).detachSignArmored(
      'bytes' in b.body ? b.body.bytes : await readFile(b.body.file),
    );
  }
  return blobs.map((b, i) => bytesFile(`${b.key}.asc`, 'blob', armored[i]!));
}
