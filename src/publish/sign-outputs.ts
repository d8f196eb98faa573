import { readFile } from 'node:fs/promises';
import type { Signer } from '../signing/signer.js';
import { bytesFile } from './output-file.js';
import type { OutputFile } from './types.js';

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

/** An armored detached `<key>.asc` for each blob, written in the blob tier beside it. */
export async function blobSignatures(blobs: OutputFile[], signer: Signer): Promise<OutputFile[]> {
  const out: OutputFile[] = [];
  for (const b of blobs) {
    const bytes = 'bytes' in b.body ? b.body.bytes : await readFile(b.body.file);
    out.push(bytesFile(`${b.key}.asc`, 'blob', await signer.detachSignArmored(bytes)));
  }
  return out;
}
