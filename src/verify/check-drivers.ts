import { createHash } from 'node:crypto';
import { mapLimit } from '../map-limit.js';
import { type DriverEntry, parseDriverVersionDoc, parseVersionList } from '../repos/drivers/driver-index.js';
import { reportSignature, type VerifyContext, sizeOf } from './context.js';
import { checkDetached } from './trust.js';

/**
 * A driver tree: `site/index.json` → each version's json → each driver it lists, found as a
 * driver loader finds it (its `download` URL, `+` as `%2B`), with the listed size; with --deep
 * read and checked against the listed sha256. Each index's `.asc`, when the site signs them.
 */
export async function checkDrivers(ctx: VerifyContext, root: string, only?: Set<string>): Promise<void> {
  const f = ctx.findings;
  const listKey = `${root}site/index.json`;
  const listBytes = await ctx.source.get(listKey);
  if (!listBytes) return;
  await checkIndexSignature(ctx, listKey, listBytes);
  let versions: string[];
  try {
    versions = parseVersionList(new TextDecoder().decode(listBytes), listKey);
  } catch (err) {
    f.error('drivers', listKey, 'drivers.index-syntax', (err as Error).message);
    return;
  }
  let total = 0;
  for (const v of only ? versions.filter((x) => only.has(x)) : versions) {
    const docKey = `${root}site/${v}.json`;
    const drivers = await readVersionDoc(ctx, docKey, v);
    if (!drivers) continue;
    total += drivers.length;
    let done = 0;
    // Hashed on workers, many drivers are asked for at once and go to them in batches.
    const limit = ctx.deep
      ? ctx.hasher?.parallel
        ? 512
        : Math.min(ctx.concurrency, 8)
      : ctx.concurrency * 2;
    await mapLimit(drivers, limit, async (d) => {
      await checkDriver(ctx, root, docKey, d);
      if (++done % 5000 === 0) ctx.status(`drivers ${v}: ${done}/${drivers.length}`);
    });
  }
  f.covered(
    'drivers',
    `${root}: ${versions.length} driver versions, ${total} drivers${ctx.deep ? ' read' : ''}`,
  );
}

/**
 * A version's drivers, its signature checked. Its own function so that the json's bytes (~50 MB
 * for 100,000 drivers) are garbage before the drivers are asked for.
 */
async function readVersionDoc(
  ctx: VerifyContext,
  docKey: string,
  v: string,
): Promise<DriverEntry[] | undefined> {
  const bytes = await ctx.source.get(docKey);
  if (!bytes) {
    ctx.findings.error(
      'drivers',
      docKey,
      'drivers.version-missing',
      `index.json lists driver version ${v}, but its index is not there`,
    );
    return undefined;
  }
  await checkIndexSignature(ctx, docKey, bytes);
  try {
    return parseDriverVersionDoc(bytes, docKey).drivers;
  } catch (err) {
    ctx.findings.error('drivers', docKey, 'drivers.version-syntax', (err as Error).message);
    return undefined;
  }
}

async function checkIndexSignature(ctx: VerifyContext, key: string, bytes: Uint8Array): Promise<void> {
  const asc = await ctx.source.get(`${key}.asc`);
  if (!asc) {
    ctx.findings.warning(
      'drivers',
      key,
      'drivers.index-unsigned',
      'has no .asc: a driver loader cannot check it',
    );
    return;
  }
  if (ctx.trust)
    reportSignature(
      ctx,
      `${key}.asc`,
      'drivers.index-signature',
      await checkDetached(bytes, asc, ctx.trust, ctx.now),
    );
}

/** The key a download URL names in this tree: the path from the driver version's folder on. */
export function driverKeyOf(root: string, d: Pick<DriverEntry, 'lib' | 'download'>): string | undefined {
  let segments: string[];
  try {
    segments = new URL(d.download).pathname.split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const at = segments.lastIndexOf(d.lib);
  if (at < 0) return undefined;
  return root + segments.slice(at).join('/');
}

async function checkDriver(ctx: VerifyContext, root: string, docKey: string, d: DriverEntry): Promise<void> {
  const f = ctx.findings;
  const key = driverKeyOf(root, d);
  if (!key) {
    f.error(
      'drivers',
      docKey,
      'drivers.download-url',
      `${d.name}: download URL ${d.download} does not name a file of version ${d.lib}`,
    );
    return;
  }
  // Over HTTP the loader's own URL is asked when it points at this site; a folder or bucket by key.
  const sameSite = ctx.source.urlOf && ctx.source.sizeOfUrl && d.download.startsWith(ctx.source.description);
  const size = sameSite ? await ctx.source.sizeOfUrl!(d.download) : await sizeOf(ctx, key);
  if (size === undefined) {
    f.error(
      'drivers',
      key,
      'drivers.missing',
      `listed in ${docKey}, but ${sameSite ? d.download : 'the file'} is not there: the loader gets a 404`,
    );
    return;
  }
  if (size >= 0 && size !== d.sizebytes) {
    f.error('drivers', key, 'drivers.size', `${docKey} says ${d.sizebytes} bytes, the file has ${size}`);
    return;
  }
  if (!ctx.deep) return;
  if (!d.sha256) {
    f.note('drivers', key, 'drivers.no-sha256', `${docKey} lists no sha256 for it`);
    return;
  }
  const got = await sha256Of(ctx, key);
  if (got === undefined) {
    f.error('drivers', key, 'drivers.missing', `listed in ${docKey}, but not there`);
    return;
  }
  if (got !== d.sha256)
    f.error('drivers', key, 'drivers.sha256', `${docKey} lists sha256 ${d.sha256}, the file has ${got}`);
}

/** A driver's sha256: on a worker for a folder, else streamed from the source. */
async function sha256Of(ctx: VerifyContext, key: string): Promise<string | undefined> {
  if (ctx.hasher && ctx.source.localPath)
    return (await ctx.hasher.hash(ctx.source.localPath(key), ['sha256']))?.digests.sha256;
  const stream = await ctx.source.getStream(key);
  if (!stream) return undefined;
  const h = createHash('sha256');
  for await (const c of stream) h.update(c as Buffer);
  return h.digest('hex');
}
