import { assessKey } from '../signing/key-health.js';

/** As `keys check --warn-days` defaults: time to extend a key and for users to fetch it again. */
const KEY_WARN_DAYS = 60;
import type { VerifyContext } from './context.js';
import { readPublicKeys } from './trust.js';

/**
 * The published keys, by the rules publish enforces on the signing key (expired, revoked, weak,
 * SHA-1 bindings, expiry soon). Those rules look at public parts only.
 */
export async function checkKeys(ctx: VerifyContext, keyFiles: string[]): Promise<void> {
  const f = ctx.findings;
  let count = 0;
  // Keys the bundle (`*-packages.asc`, what users are told to fetch) holds are the live ones; a key
  // only in its own file is a retired one kept for old copies, and its state is only noted.
  const live = new Set<string>();
  for (const file of keyFiles.filter((k) => k.endsWith('-packages.asc'))) {
    const bytes = await ctx.source.get(file);
    if (bytes)
      for (const k of await readPublicKeys(bytes).catch(() => [])) live.add(k.getFingerprint().toUpperCase());
  }
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
    const retired = (k: (typeof keys)[number]) =>
      live.size > 0 && !live.has(k.getFingerprint().toUpperCase());
    for (const key of keys) {
      count++;
      try {
        // The rules `keys check` applies, with its default warning window.
        const health = await assessKey(key, ctx.now, KEY_WARN_DAYS);
        for (const w of health.warnings)
          if (!w.includes('RFC 9580'))
            f.add(retired(key) ? 'note' : 'warning', 'keys', file, 'keys.health', w);
      } catch (err) {
        f.add(retired(key) ? 'note' : 'error', 'keys', file, 'keys.health', (err as Error).message);
      }
    }
  }
  f.covered('keys', `${keyFiles.length} key files, ${count} keys`);
}
