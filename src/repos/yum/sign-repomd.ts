import { bytesFile } from '../../model/output-file.js';
import type { OutputFile } from '../../model/tiers.js';
import { packageSigner } from '../../signing/multi-signer.js';
import type { Signer } from '../../signing/signer.js';

/**
 * repomd.xml.asc, then repomd.xml (pointer tier, in that order).
 *
 * Between the two writes the repository's signature does not match its repomd.xml, and no
 * ordering avoids that: dnf 4.14 (librepo 1.14) judges only the first signature of the .asc
 * (tried: an .asc holding signatures over both the old and the new repomd.xml fails whenever
 * the first one is the stale one). A publish interrupted exactly there is repaired by the next.
 * For the same reason a key rotation does not co-sign it: its one signature is the package key's,
 * which a dnf user needs for the rpms anyway.
 */
export async function repomdPointerFiles(
  repodata: string,
  repomd: string,
  signer?: Signer,
): Promise<OutputFile[]> {
  const bytes = new TextEncoder().encode(repomd);
  const out: OutputFile[] = [];
  if (signer)
    out.push(
      bytesFile(
        `${repodata}/repomd.xml.asc`,
        'pointer',
        await packageSigner(signer).detachSignArmored(bytes),
        0,
      ),
    );
  out.push(bytesFile(`${repodata}/repomd.xml`, 'pointer', bytes, 1));
  return out;
}
