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
    if (ctx.deep && ctx.hasher?.parallel && ctx.source.localPath && ctx.files.exact) {
      await checkDriversOnWorkers(ctx, root, docKey, drivers, (n) => {
        done += n;
        if (done % 5000 < n) ctx.status(`drivers ${v}: ${done}/${drivers.length}`);
      });
      continue;
    }
    const limit = ctx.deep ? Math.min(ctx.concurrency, 8) : ctx.concurrency * 2;
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
  const key = keyOrReport(ctx, root, docKey, d);
  if (!key) return;
  // Over HTTP the loader's own URL is asked when it points at this site; a folder or bucket by key.
  const sameSite = ctx.source.urlOf && ctx.source.sizeOfUrl && d.download.startsWith(ctx.source.description);
  const size = sameSite ? await ctx.source.sizeOfUrl!(d.download) : await sizeOf(ctx, key);
  if (!sizeFits(ctx, docKey, d, key, size, sameSite ? d.download : undefined)) return;
  if (!ctx.deep) return;
  if (!d.sha256) {
    ctx.findings.note('drivers', key, 'drivers.no-sha256', `${docKey} lists no sha256 for it`);
    return;
  }
  compareSha256(ctx, docKey, d, key, await sha256Of(ctx, key));
}

/**
 * --deep over a folder whose files are listed: each chunk of drivers is checked against the
 * listing on this thread, without a promise per driver, and its files go to the hashing workers
 * together. On two cores this thread, feeding the workers, is what limits the run.
 */
async function checkDriversOnWorkers(
  ctx: VerifyContext,
  root: string,
  docKey: string,
  drivers: DriverEntry[],
  progress: (n: number) => void,
): Promise<void> {
  const CHUNK = 512;
  const starts: number[] = [];
  for (let at = 0; at < drivers.length; at += CHUNK) starts.push(at);
  const localPath = ctx.source.localPath!;
  await mapLimit(starts, 4, async (from) => {
    const hashed: { d: DriverEntry; key: string }[] = [];
    const to = Math.min(from + CHUNK, drivers.length);
    for (let i = from; i < to; i++) {
      const d = drivers[i]!;
      const key = keyOrReport(ctx, root, docKey, d);
      if (!key || !sizeFits(ctx, docKey, d, key, ctx.files.sizes.get(key))) continue;
      if (!d.sha256)
        ctx.findings.note('drivers', key, 'drivers.no-sha256', `${docKey} lists no sha256 for it`);
      else hashed.push({ d, key });
    }
    const got = await ctx.hasher!.hashMany(
      hashed.map((h) => localPath(h.key)),
      ['sha256'],
    );
    for (const [j, h] of hashed.entries()) compareSha256(ctx, docKey, h.d, h.key, got[j]?.digests.sha256);
    progress(to - from);
  });
}

/** The driver's key in this tree, or undefined after reporting a download URL that names none. */
function keyOrReport(ctx: VerifyContext, root: string, docKey: string, d: DriverEntry): string | undefined {
  const key = driverKeyOf(root, d);
  if (!key)
    ctx.findings.error(
      'drivers',
      docKey,
      'drivers.download-url',
      `${d.name}: download URL ${d.download} does not name a file of version ${d.lib}`,
    );
  return key;
}

/** False after reporting a missing file or one of another size than the index lists. */
function sizeFits(
  ctx: VerifyContext,
  docKey: string,
  d: DriverEntry,
  key: string,
  size: number | undefined,
  url?: string,
): boolean {
  if (size === undefined) {
    ctx.findings.error(
      'drivers',
      key,
      'drivers.missing',
      `listed in ${docKey}, but ${url ?? 'the file'} is not there: the loader gets a 404`,
    );
    return false;
  }
  if (size >= 0 && size !== d.sizebytes) {
    ctx.findings.error(
      'drivers',
      key,
      'drivers.size',
      `${docKey} says ${d.sizebytes} bytes, the file has ${size}`,
    );
    return false;
  }
  return true;
}

function compareSha256(
  ctx: VerifyContext,
  docKey: string,
  d: DriverEntry,
  key: string,
  got: string | undefined,
) {
  if (got === undefined)
    ctx.findings.error('drivers', key, 'drivers.missing', `listed in ${docKey}, but not there`);
  else if (got !== d.sha256)
    ctx.findings.error(
      'drivers',
      key,
      'drivers.sha256',
      `${docKey} lists sha256 ${d.sha256}, the file has ${got}`,
    );
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
