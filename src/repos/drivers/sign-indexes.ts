import { readFile } from 'node:fs/promises';
import type { ResolvedConfig } from '../../config/resolve.js';
import { bytesFile } from '../../model/output-file.js';
import type { OutputFile } from '../../model/tiers.js';
import { packageSigner } from '../../signing/multi-signer.js';
import type { Signer } from '../../signing/signer.js';
import { driverSitePrefix, versionListKey } from './build-drivers.js';

/**
 * A detached `.asc` beside every driver index written (each version's json and index.json), so a
 * driver loader can trust a driver by the sha256 a signed index lists. The version list is the
 * pointer: its signature goes first, as repomd.xml's does, so a reader that meets the new list
 * finds its signature already there.
 */
export async function signDriverIndexes(
  cfg: ResolvedConfig,
  outputs: OutputFile[],
  signer: Signer | undefined,
): Promise<OutputFile[]> {
  if (!signer) return outputs;
  const site = `${driverSitePrefix(cfg)}/`;
  const list = versionListKey(cfg);
  const out: OutputFile[] = [];
  for (const o of outputs) {
    const isIndex =
      o.key.startsWith(site) && o.key.endsWith('.json') && !o.key.slice(site.length).includes('/');
    if (!isIndex) {
      out.push(o);
      continue;
    }
    if ('copyFrom' in o.body) throw new Error(`internal: driver index ${o.key} cannot be a copy`);
    // A spilled version index (tens of MB for 100,000 drivers) is read back once to be signed.
    const bytes = 'bytes' in o.body ? o.body.bytes : await readFile(o.body.file);
    // One signature, the package key's, also during a key rotation: gpg exits 2 on a key it lacks.
    const asc = await packageSigner(signer).detachSignArmored(bytes);
    if (o.key === list) {
      out.push(bytesFile(`${o.key}.asc`, 'pointer', asc, 0), { ...o, order: 1 });
    } else out.push(o, bytesFile(`${o.key}.asc`, o.tier, asc));
  }
  return out;
}
