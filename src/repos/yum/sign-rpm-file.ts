import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../../artifacts/checksums.js';
import { readArtifacts } from '../../artifacts/read-pool.js';
import type { RpmArtifact, RpmHeaders } from '../../artifacts/types.js';
import { ArtifactError, SigningError } from '../../errors.js';
import { LEAD_SIZE, parseHeader } from '../../formats/rpm-header.js';
import { mapLimit } from '../../map-limit.js';
import type { PrehashTemplate } from '../../signing/prehash.js';
import type { Signer } from '../../signing/signer.js';
import type { CopyJob, CopyResult } from '../../workers/jobs.js';
import { runJobs } from '../../workers/pool.js';
import { signatureHeaderWith, signedPrefix } from './sign-rpm.js';

/** The published form of an rpm: where its bytes are and what repodata says about them. */
export interface PreparedRpm {
  rpm: RpmHeaders;
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

/** preparedAsIs of each, reading in full those that were read for their headers only. */
export async function preparedAllAsIs(
  items: { rpm: RpmHeaders; headerSha256: string }[],
  prehash?: PrehashTemplate,
): Promise<PreparedRpm[]> {
  const full = await hashedRpms(
    items.map((i) => i.rpm),
    prehash,
  );
  return items.map((i, n) => preparedAsIs(full[n]!, i.headerSha256));
}

/**
 * Each rpm with its digests: those read headers-only are read again, in full and on every core.
 * Their main header must still be the one read before (the file may have been replaced since).
 */
export async function hashedRpms(rpms: RpmHeaders[], prehash?: PrehashTemplate): Promise<RpmArtifact[]> {
  const unhashed = rpms.filter((r) => !isHashed(r));
  const read = await readArtifacts(
    unhashed.map((r) => ({ path: r.path, kind: 'rpm' as const })),
    prehash ? { prehash } : {},
  );
  const full = new Map(unhashed.map((r, i) => [r, read[i] as RpmArtifact]));
  return rpms.map((r) => {
    if (isHashed(r)) return r;
    const a = full.get(r)!;
    if (a.headerSha256 !== r.headerSha256)
      throw new ArtifactError(r.path, 'changed while publishing (its header differs from when read)');
    return a;
  });
}

function isHashed(r: RpmHeaders): r is RpmArtifact {
  return r.sha256 !== undefined && r.digests !== undefined;
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
 * Signs `rpms` the way `rpmsign --addsign` does, into tempDir: for each, a new signature header
 * (made here, where the key is), then the input's main header and payload copied unchanged and
 * hashed on the way (on every core: workers/pool.ts), which is the only pass over their bytes.
 * An rpm already signed by this key is published as it is (and read in full for its digests);
 * one signed by another key needs `resign`.
 */
export async function prepareSignedRpms(
  items: { rpm: RpmHeaders; headerSha256: string }[],
  opts: SignRpmOptions,
): Promise<PreparedRpm[]> {
  const mine = signerKeyId(opts.signer);
  for (const { rpm } of items) {
    const sig = rpm.signature;
    if (sig.signed && sig.keyId !== mine && !opts.resign)
      throw new SigningError(
        `${rpm.path}: already signed by key ${sig.keyId ?? '(unknown)'}, not by the project key ${mine}; ` +
          'pass --resign to replace that signature, or --no-sign-rpms to publish rpms as they are',
      );
  }
  const isMine = (i: { rpm: RpmHeaders }) => i.rpm.signature.signed && i.rpm.signature.keyId === mine;
  const kept = items.filter(isMine);
  const keptPrepared = await preparedAllAsIs(kept, opts.prehash);
  const asIs = new Map(kept.map((i, n) => [i, keptPrepared[n]!]));

  const toSign = await mapLimit(
    items.filter((i) => !isMine(i)),
    8,
    planSignedRpm,
  );
  // All headers at once: RSA signatures are then made on every core (signing/sign-digests.ts).
  const packets = await opts.signer.detachSignBinaryMany(toSign.map((p) => p.mainHeader));
  const jobs = toSign.map((p, i) => copyJob(p, packets[i]!, opts));
  const copies = await runJobs(jobs);
  const signed = new Map(toSign.map((p, i) => [p.item, preparedFromCopy(p, jobs[i]!, copies[i]!)]));
  return items.map((i) => asIs.get(i) ?? signed.get(i)!);
}

/** An rpm to sign, with its lead, signature header and main header read from the input. */
interface UnsignedPlan {
  item: { rpm: RpmHeaders; headerSha256: string };
  prefix: Buffer;
  mainHeader: Buffer;
}

async function planSignedRpm(item: { rpm: RpmHeaders; headerSha256: string }): Promise<UnsignedPlan> {
  const { rpm } = item;
  const prefix = await readRange(rpm.path, 0, rpm.headerRange.end);
  const mainHeader = prefix.subarray(rpm.headerRange.start, rpm.headerRange.end);
  // What gets signed must be the header the repodata describes.
  if (sha256Hex(mainHeader) !== rpm.headerSha256)
    throw new ArtifactError(rpm.path, 'changed while publishing (its header differs from when read)');
  return { item, prefix, mainHeader };
}

function copyJob(p: UnsignedPlan, packet: Uint8Array, opts: SignRpmOptions): CopyJob {
  const sigHeader = parseHeader(p.prefix, LEAD_SIZE);
  const head = signedPrefix(p.prefix.subarray(0, LEAD_SIZE), signatureHeaderWith(sigHeader, packet));
  return {
    type: 'copy',
    input: p.item.rpm.path,
    from: p.item.rpm.headerRange.start,
    head,
    out: join(opts.tempDir, `${p.item.headerSha256.slice(0, 16)}-${p.item.rpm.fileName}`),
    ...(opts.prehash ? { prehash: opts.prehash } : {}),
  };
}

function preparedFromCopy(p: UnsignedPlan, job: CopyJob, copy: CopyResult): PreparedRpm {
  const { rpm, headerSha256 } = p.item;
  if (copy.size !== job.head.length + rpm.size - rpm.headerRange.start)
    throw new ArtifactError(rpm.path, 'changed while publishing (size differs from when read)');
  const start = job.head.length;
  return {
    rpm,
    file: job.out,
    sha256: copy.sha256,
    size: copy.size,
    headerRange: { start, end: start + (rpm.headerRange.end - rpm.headerRange.start) },
    headerSha256,
    signed: true,
    ...(copy.signatureDigest ? { signatureDigest: copy.signatureDigest } : {}),
  };
}
