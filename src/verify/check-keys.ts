import type { PrivateKey } from 'openpgp';
import { assessKey } from '../signing/key-health.js';
import type { VerifyContext } from './context.js';
import { readPublicKeys } from './trust.js';

/**
 * The published keys, by the rules publish enforces on the signing key (expired, revoked, weak,
 * SHA-1 bindings, expiry soon). Those rules look at public parts only.
 */
export async function checkKeys(ctx: VerifyContext, keyFiles: string[]): Promise<void> {
  const f = ctx.findings;
  let count = 0;
  for (const file of keyFiles) {
    const bytes = await ctx.source.get(file);
    if (!bytes) continue;
    let keys: Awaited<ReturnType<typeof readPublicKeys>>;
    try {
      keys = await readPublicKeys(bytes);
    } catch (err) {
      f.error('keys', file, 'keys.unreadable', `not an OpenPGP key file: ${(err as Error).message}`);
      continue;
    }
    for (const key of keys) {
      count++;
      try {
        // assessKey reads only public parts (the secret stub check does not apply to a public key).
        const health = await assessKey(key as unknown as PrivateKey, ctx.now);
        for (const w of health.warnings)
          if (!w.includes('RFC 9580')) f.warning('keys', file, 'keys.health', w);
      } catch (err) {
        f.error('keys', file, 'keys.health', (err as Error).message);
      }
    }
  }
  f.covered('keys', `${keyFiles.length} key files, ${count} keys`);
}
