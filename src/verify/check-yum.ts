import { createHash } from 'node:crypto';
import {
  LEAD_SIZE,
  parseHeader,
  RPMSIGTAG,
  readHeaderPreamble,
  signaturePadding,
} from '../formats/rpm-header.js';
import { mapLimit } from '../map-limit.js';
import { decompressXml } from '../repos/yum/compress-xml.js';
import { primaryFacts, primaryFileFacts, splitPackages } from '../repos/yum/repodata-chunks.js';
import { parseRepomd, type Repomd } from '../repos/yum/repomd.js';
import { reportSignature, type VerifyContext, sizeOf } from './context.js';
import { checkDetached } from './trust.js';

export async function checkYum(ctx: VerifyContext, root: string): Promise<void> {
  const f = ctx.findings;
  const repomdKey = `${root}repodata/repomd.xml`;
  const bytes = await ctx.source.get(repomdKey);
  if (!bytes) return;
  const asc = await ctx.source.get(`${repomdKey}.asc`);
  if (!asc)
    f.error(
      'yum',
      `${repomdKey}.asc`,
      'yum.repomd-unsigned',
      'repomd.xml has no signature: dnf with repo_gpgcheck=1 refuses the repository',
    );
  else if (ctx.trust)
    reportSignature(
      ctx,
      `${repomdKey}.asc`,
      'yum.repomd-signature',
      await checkDetached(bytes, asc, ctx.trust, ctx.now),
    );
  let repomd: Repomd;
  try {
    repomd = parseRepomd(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    f.error('yum', repomdKey, 'yum.repomd-syntax', (err as Error).message);
    return;
  }
  let primary: string | undefined;
  for (const d of repomd.data) {
    const key = root + d.href;
    const data = await ctx.source.get(key);
    if (!data) {
      f.error('yum', key, 'yum.repodata-missing', `named by repomd.xml (${d.type}), but not there`);
      continue;
    }
    const sum = createHash('sha256').update(data).digest('hex');
    if (sum !== d.checksum) {
      f.error(
        'yum',
        key,
        'yum.repodata-checksum',
        `repomd.xml lists ${d.checksum}, the file has ${sum}: dnf refuses it`,
      );
      continue;
    }
    if (d.size && d.size !== data.byteLength)
      f.error(
        'yum',
        key,
        'yum.repodata-size',
        `repomd.xml lists ${d.size} bytes, the file has ${data.byteLength}`,
      );
    let open: Uint8Array;
    try {
      open = await decompressXml(d.href, data);
    } catch {
      // A form pkgpub cannot open (bz2, xz) was still checked by its stored checksum.
      continue;
    }
    const openSum = createHash('sha256').update(open).digest('hex');
    if (d.openChecksum && openSum !== d.openChecksum)
      f.error(
        'yum',
        key,
        'yum.repodata-open-checksum',
        `repomd.xml lists open-checksum ${d.openChecksum}, the content has ${openSum}`,
      );
    if (d.openSize && d.openSize !== open.byteLength)
      f.error(
        'yum',
        key,
        'yum.repodata-open-size',
        `repomd.xml lists open-size ${d.openSize}, the content has ${open.byteLength}`,
      );
    if (d.type === 'primary') primary = new TextDecoder().decode(open);
  }
  if (primary === undefined) {
    f.error('yum', repomdKey, 'yum.no-primary', 'names no readable primary data');
    return;
  }
  let rpms: { key: string; size: number; pkgid: string; nevra: string }[];
  try {
    rpms = splitPackages(primary, 'primary.xml').map((chunk) => {
      const facts = primaryFacts(chunk);
      return {
        key: root + facts.href,
        size: primaryFileFacts(chunk).size,
        pkgid: facts.pkgid,
        nevra: facts.nevra,
      };
    });
  } catch (err) {
    f.error('yum', repomdKey, 'yum.primary-syntax', (err as Error).message);
    return;
  }
  ctx.status(`yum ${root}: ${rpms.length} packages`);
  await mapLimit(rpms, ctx.deep ? Math.min(ctx.concurrency, 4) : ctx.concurrency, async (r) => {
    const size = await sizeOf(ctx, r.key);
    if (size === undefined) {
      f.error(
        'yum',
        r.key,
        'yum.package-missing',
        `${r.nevra} is in primary.xml, but its file is not there: dnf install fails`,
      );
      return;
    }
    if (size >= 0 && size !== r.size) {
      f.error('yum', r.key, 'yum.package-size', `primary.xml says ${r.size} bytes, the file has ${size}`);
      return;
    }
    if (ctx.deep) await deepRpm(ctx, r);
  });
  f.covered(
    'yum',
    `${root}: ${repomd.data.length} repodata files, ${rpms.length} packages${ctx.deep ? ' read' : ''}`,
  );
}

/**
 * The rpm's sha256 (its pkgid) and its header signature, in one pass: the signature covers the
 * main header, which sits right after the lead and the signature header.
 */
async function deepRpm(ctx: VerifyContext, r: { key: string; pkgid: string; nevra: string }): Promise<void> {
  const f = ctx.findings;
  const stream = await ctx.source.getStream(r.key);
  if (!stream) {
    f.error('yum', r.key, 'yum.package-missing', `${r.nevra}: not there`);
    return;
  }
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  const WANT = 4 << 20;
  for await (const c of stream) {
    const chunk = c as Buffer;
    hash.update(chunk);
    if (headBytes < WANT) {
      head.push(chunk);
      headBytes += chunk.length;
    }
  }
  const sum = hash.digest('hex');
  if (sum !== r.pkgid) {
    f.error(
      'yum',
      r.key,
      'yum.package-checksum',
      `${r.nevra}: primary.xml's pkgid is ${r.pkgid}, the file has ${sum}`,
    );
    return;
  }
  if (!ctx.trust) return;
  const buf = Buffer.concat(head);
  try {
    const sigStart = LEAD_SIZE;
    const sigLen = readHeaderPreamble(buf, sigStart).byteLength;
    const sig = parseHeader(buf, sigStart);
    const mainStart = sigStart + sigLen + signaturePadding(sigLen);
    const mainLen = readHeaderPreamble(buf, mainStart).byteLength;
    if (buf.length < mainStart + mainLen) throw new Error('main header larger than 4 MiB');
    const header = buf.subarray(mainStart, mainStart + mainLen);
    const packet = sig.has(RPMSIGTAG.RSA)
      ? sig.raw(RPMSIGTAG.RSA)
      : sig.has(RPMSIGTAG.DSA)
        ? sig.raw(RPMSIGTAG.DSA)
        : undefined;
    if (!packet) {
      f.error(
        'yum',
        r.key,
        'yum.package-unsigned',
        `${r.nevra} has no header signature: dnf with gpgcheck=1 refuses it`,
      );
      return;
    }
    reportSignature(
      ctx,
      r.key,
      'yum.package-signature',
      await checkDetached(header, packet, ctx.trust, ctx.now),
    );
  } catch (err) {
    f.error(
      'yum',
      r.key,
      'yum.package-header',
      `${r.nevra}: the rpm header cannot be read (${(err as Error).message})`,
    );
  }
}
