import type { ScanOptions } from '../artifacts/scan.js';
import type { ArtifactKind } from '../artifacts/types.js';
import type { PortableDigestKey } from '../signing/digest-signer.js';
import type { PrehashTemplate } from '../signing/prehash.js';

/** Read and hash one artifact (artifacts/scan.ts). */
export interface ReadJob {
  type: 'read';
  path: string;
  kind: ArtifactKind;
  opts: ScanOptions;
}

/**
 * Write `head`, then the input's bytes from `from` on, to `out`, hashing what is written: how a
 * signed rpm is made (new lead and signature header, the rest unchanged).
 */
export interface CopyJob {
  type: 'copy';
  input: string;
  from: number;
  head: Uint8Array;
  out: string;
  prehash?: PrehashTemplate;
}

export interface CopyResult {
  sha256: string;
  size: number;
  signatureDigest?: string;
}

/** Sign digests with a key another thread can use (signing/sign-digests.ts). */
export interface SignJob {
  type: 'sign';
  key: PortableDigestKey;
  digests: Uint8Array[];
}

export type Job = ReadJob | CopyJob | SignJob;
