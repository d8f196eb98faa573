import type { ResolvedConfig } from '../config/resolve.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import { partsOfWrites } from '../verify/discover.js';
import { httpSource } from '../verify/http-source.js';
import { storeSource } from '../verify/site-source.js';
import { type VerifyReport, verifySite } from '../verify/verify.js';

/**
 * `publish --verify`: what the publish wrote, read back as clients read it, through base_url when
 * one is configured (the CDN or web server users meet), else from the store; trusting only the
 * key it signed with.
 */
export async function verifyWrites(opts: {
  keys: string[];
  cfg: ResolvedConfig;
  store: ObjectStore;
  viaBaseUrl: boolean;
  signer?: Signer;
  status: (line: string) => void;
}): Promise<VerifyReport> {
  const source = opts.viaBaseUrl ? httpSource(`${opts.cfg.baseUrl}/`) : storeSource(opts.store);
  return verifySite({
    source,
    only: partsOfWrites(opts.keys),
    // Served through base_url: each pointer must be what was just written.
    ...(opts.viaBaseUrl ? { origin: storeSource(opts.store) } : {}),
    ...(opts.signer
      ? {
          pinnedKeys: [
            {
              file: `signing key ${opts.signer.fingerprint}`,
              bytes: new TextEncoder().encode(opts.signer.publicKeyArmored()),
            },
          ],
        }
      : {}),
    status: opts.status,
  });
}
