import { createHash } from 'node:crypto';
import { mapLimit } from '../map-limit.js';
import { parseSha256Sums } from '../repos/bin/sha256sums.js';
import { reportSignature, type VerifyContext, sizeOf } from './context.js';
import { checkDetached } from './trust.js';

/**
 * A tarball folder: SHA256SUMS and its .asc, and every tarball it lists against its line and its
 * own .asc. Tarballs are few and each needs reading for its .asc anyway, so they are always read.
 */
export async function checkTarballs(ctx: VerifyContext, folder: string): Promise<void> {
  const f = ctx.findings;
  const sumsKey = `${folder}SHA256SUMS`;
  const bytes = await ctx.source.get(sumsKey);
  if (!bytes) return;
  const asc = await ctx.source.get(`${sumsKey}.asc`);
  if (!asc) f.error('tarballs', `${sumsKey}.asc`, 'tarballs.sums-unsigned', 'SHA256SUMS has no signature');
  else if (ctx.trust)
    reportSignature(
      ctx,
      `${sumsKey}.asc`,
      'tarballs.sums-signature',
      await checkDetached(bytes, asc, ctx.trust, ctx.now),
    );
  let sums: Map<string, string>;
  try {
    sums = parseSha256Sums(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    f.error('tarballs', sumsKey, 'tarballs.sums-syntax', (err as Error).message);
    return;
  }
  await mapLimit([...sums], Math.min(ctx.concurrency, 4), async ([name, want]) => {
    const key = folder + name;
    if ((await sizeOf(ctx, key)) === undefined) {
      f.error('tarballs', key, 'tarballs.missing', 'listed in SHA256SUMS, but not there');
      return;
    }
    const got = await readTarball(ctx, key);
    if (got !== undefined && got !== want)
      f.error(
        'tarballs',
        key,
        'tarballs.sum-mismatch',
        `SHA256SUMS lists ${want}, the file has ${got}: sha256sum -c fails`,
      );
  });
  f.covered('tarballs', `${folder}: ${sums.size} tarballs read`);
}

/** Tarballs another tool published with only a .asc each. */
export async function checkLooseTarballs(ctx: VerifyContext, keys: string[]): Promise<void> {
  await mapLimit(keys, Math.min(ctx.concurrency, 4), (key) => readTarball(ctx, key));
  ctx.findings.covered('tarballs', `${keys.length} tarballs without SHA256SUMS read`);
}

/** Reads a tarball once: its .asc checked on the way, its sha256 returned. */
async function readTarball(ctx: VerifyContext, key: string): Promise<string | undefined> {
  const f = ctx.findings;
  const stream = await ctx.source.getStream(key);
  if (!stream) {
    f.error('tarballs', key, 'tarballs.missing', 'not there');
    return undefined;
  }
  const hash = createHash('sha256');
  const sig = await ctx.source.get(`${key}.asc`);
  if (sig && ctx.trust)
    reportSignature(
      ctx,
      `${key}.asc`,
      'tarballs.asc',
      await checkDetached(stream, sig, ctx.trust, ctx.now, [hash]),
    );
  else {
    if (!sig)
      f.warning('tarballs', `${key}.asc`, 'tarballs.asc-missing', 'the tarball has no detached signature');
    for await (const c of stream) hash.update(c as Buffer);
  }
  return hash.digest('hex');
}
