import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { RpmArtifact } from '../../artifacts/types.js';
import { ArtifactError, SigningError } from '../../errors.js';
import { LEAD_SIZE, parseHeader } from '../../formats/rpm-header.js';
import { type PrehashTemplate, prehashDigest } from '../../signing/prehash.js';
import type { Signer } from '../../signing/signer.js';
import { signatureHeaderWith, signedPrefix } from './sign-rpm.js';

/** The published form of an rpm: where its bytes are and what repodata says about them. */
export interface PreparedRpm {
  rpm: RpmArtifact;
  /** The file to upload: the input itself, or its signed copy. */
  file: string;
  sha256: string;
  size: number;
  headerRange: { start: number; end: number };
  /** sha256 of the main header, which signing never changes: the package's identity across re-signs. */
  headerSha256: string;
  /** True when this run wrote a signed copy. */
  signed: boolean;
  /** The .asc digest of the published bytes, when computed on the way (see signing/prehash.ts). */
  signatureDigest?: string;
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    if (bytesRead !== buf.length)
      throw new ArtifactError(path, 'changed while publishing (shorter than when read)');
    return buf;
  } finally {
    await fh.close();
  }
}

/** sha256 of the main header of an input rpm (a few KB read, never the payload). */
export async function rpmHeaderSha256(rpm: RpmArtifact): Promise<string> {
  const h = await readRange(rpm.path, rpm.headerRange.start, rpm.headerRange.end);
  return createHash('sha256').update(h).digest('hex');
}

/** An rpm published exactly as given (--no-sign-rpms, or already signed by the project key). */
export function preparedAsIs(rpm: RpmArtifact, headerSha256: string): PreparedRpm {
  return {
    rpm,
    file: rpm.path,
    sha256: rpm.sha256,
    size: rpm.size,
    headerRange: rpm.headerRange,
    headerSha256,
    signed: false,
    ...(rpm.signatureDigest ? { signatureDigest: rpm.signatureDigest } : {}),
  };
}

/** The signing key id rpm reports for this signer's signatures (16 lower-case hex digits). */
export function signerKeyId(signer: Signer): string {
  return signer.signingKeyFingerprint.slice(-16).toLowerCase();
}

export interface SignRpmOptions {
  signer: Signer;
  /** Where signed copies go; the caller removes it after the publish. */
  tempDir: string;
  /** Replace a signature made by another key. */
  resign: boolean;
  /** Also compute the signed copy's .asc digest while copying. */
  prehash?: PrehashTemplate;
}

/**
 * Signs `rpm` the way `rpmsign --addsign` does, into tempDir: a new signature header, then the
 * input's main header and payload copied unchanged, hashed on the way. An rpm already signed
 * by this key is returned as it is; one signed by another key needs `resign`.
 */
export async function prepareSignedRpm(
  rpm: RpmArtifact,
  headerSha256: string,
  opts: SignRpmOptions,
): Promise<PreparedRpm> {
  const asIs = preparedAsIs(rpm, headerSha256);
  const mine = signerKeyId(opts.signer);
  const sig = rpm.signature;
  if (sig.signed && sig.keyId === mine) return asIs;
  if (sig.signed && !opts.resign)
    throw new SigningError(
      `${rpm.path}: already signed by key ${sig.keyId ?? '(unknown)'}, not by the project key ${mine}; ` +
        'pass --resign to replace that signature, or --no-sign-rpms to publish rpms as they are',
    );
  const prefix = await readRange(rpm.path, 0, rpm.headerRange.end);
  const sigHeader = parseHeader(prefix, LEAD_SIZE);
  const mainHeader = prefix.subarray(rpm.headerRange.start, rpm.headerRange.end);
  const packet = await opts.signer.detachSignBinary(mainHeader);
  const head = signedPrefix(prefix.subarray(0, LEAD_SIZE), signatureHeaderWith(sigHeader, packet));
  const out = join(opts.tempDir, `${rpm.sha256.slice(0, 16)}-${rpm.fileName}`);
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  tap.write(head);
  await pipeline(createReadStream(rpm.path, { start: rpm.headerRange.start }), tap, createWriteStream(out));
  const start = head.length;
  const headerRange = { start, end: start + (rpm.headerRange.end - rpm.headerRange.start) };
  if (size !== head.length + rpm.size - rpm.headerRange.start)
    throw new ArtifactError(rpm.path, 'changed while publishing (size differs from when read)');
  const signatureDigest = opts.prehash ? prehashDigest(hash, opts.prehash) : undefined;
  return {
    rpm,
    file: out,
    sha256: hash.digest('hex'),
    size,
    headerRange,
    headerSha256,
    signed: true,
    ...(signatureDigest ? { signatureDigest } : {}),
  };
}
