import { createHash } from 'node:crypto';
import { decodeUtf8, getField, parseControl, parseParagraphs } from '../formats/deb822.js';
import { limiter, mapLimit } from '../map-limit.js';
import { aptSnapshotText, clearsignedBody } from '../repos/apt/read-apt-state.js';
import { reportSignature, type VerifyContext, sizeOf, uncompressed } from './context.js';
import { parseDetached } from './signature-templates.js';
import { checkClearsigned, checkDetached } from './trust.js';

/** Release's hash sections, strongest last; by-hash folders are named after them. */
const SECTIONS = [
  { field: 'MD5Sum', algo: 'md5' },
  { field: 'SHA1', algo: 'sha1' },
  { field: 'SHA256', algo: 'sha256' },
  { field: 'SHA512', algo: 'sha512' },
] as const;
/** Packages fields naming a .deb's digests. */
const PACKAGE_HASHES = [
  { field: 'MD5sum', algo: 'md5' },
  { field: 'SHA1', algo: 'sha1' },
  { field: 'SHA256', algo: 'sha256' },
  { field: 'SHA512', algo: 'sha512' },
] as const;

interface Listed {
  size: number;
  hashes: Map<string, string>;
}

/** A Packages entry: its size and hashes, and the index that names it. */
interface ListedPackage extends Listed {
  from: string;
}

/** apt allows a Release dated this far ahead of the clock before it says "not valid yet". */
const CLOCK_SKEW_MS = 5 * 60_000;

export async function checkApt(ctx: VerifyContext, root: string, suite: string): Promise<void> {
  const f = ctx.findings;
  const dir = `${root}dists/${suite}/`;
  const [inRelease, release, releaseGpg] = await Promise.all(
    ['InRelease', 'Release', 'Release.gpg'].map((n) => ctx.source.get(dir + n)),
  );
  let text: string | undefined;
  if (inRelease) {
    const raw = decodeUtf8(inRelease);
    if (ctx.trust) {
      const check = await checkClearsigned(raw, ctx.trust, ctx.now);
      reportSignature(ctx, `${dir}InRelease`, 'apt.inrelease-signature', check);
      text = check.body;
    }
    text ??= clearsignedBody(raw) || undefined;
  }
  if (release) {
    const releaseText = decodeUtf8(release);
    if (releaseGpg && ctx.trust) {
      const check = await checkDetached(release, releaseGpg, ctx.trust, ctx.now);
      reportSignature(ctx, `${dir}Release.gpg`, 'apt.release-signature', check);
    } else if (!releaseGpg && !inRelease)
      f.error(
        'apt',
        `${dir}Release`,
        'apt.unsigned',
        'no InRelease and no Release.gpg: apt refuses an unsigned repository',
      );
    if (text !== undefined && aptSnapshotText(text) !== aptSnapshotText(releaseText))
      f.error(
        'apt',
        `${dir}Release`,
        'apt.release-mismatch',
        'InRelease and Release say different things: apt (InRelease) and older clients (Release + Release.gpg) see different states',
      );
    text ??= releaseText;
  }
  if (text === undefined) return;
  let fields: ReturnType<typeof parseControl>;
  try {
    fields = parseControl(text);
  } catch (err) {
    f.error('apt', `${dir}Release`, 'apt.release-syntax', (err as Error).message);
    return;
  }
  checkDates(ctx, `${dir}${inRelease ? 'InRelease' : 'Release'}`, fields);

  // path -> size and every hash the Release lists for it.
  const listed = new Map<string, Listed>();
  for (const { field, algo } of SECTIONS) {
    for (const line of (getField(fields, field) ?? '').split('\n')) {
      const [hash, size, path] = line.trim().split(/\s+/);
      if (!hash || !size || !path) continue;
      const e = listed.get(path) ?? { size: Number(size), hashes: new Map() };
      if (e.size !== Number(size))
        f.error(
          'apt',
          `${dir}Release`,
          'apt.release-syntax',
          `${path} is listed with two sizes (${e.size}, ${size})`,
        );
      e.hashes.set(algo, hash.toLowerCase());
      listed.set(path, e);
    }
  }
  if (listed.size === 0) {
    f.error('apt', `${dir}Release`, 'apt.release-empty', 'lists no index files');
    return;
  }
  const byHash = /^yes$/i.test(getField(fields, 'Acquire-By-Hash') ?? '');
  const strongest = [...SECTIONS]
    .reverse()
    .find((s) => [...listed.values()].some((l) => l.hashes.has(s.algo)));

  // Every listed form of every index: size and hashes; by-hash copies when the Release promises them.
  const present = new Map<string, Uint8Array>();
  await mapLimit([...listed], Math.min(ctx.concurrency, 8), async ([path, want]) => {
    const key = dir + path;
    const bytes = await ctx.source.get(key);
    if (!bytes) return;
    present.set(path, bytes);
    if (bytes.byteLength !== want.size)
      f.error(
        'apt',
        key,
        'apt.index-size',
        `Release lists ${want.size} bytes, the file has ${bytes.byteLength}`,
      );
    for (const [algo, hash] of want.hashes) {
      const got = createHash(algo).update(bytes).digest('hex');
      if (got !== hash)
        f.error('apt', key, 'apt.index-hash', `Release lists ${algo} ${hash}, the file has ${got}`);
    }
    if (byHash && strongest) {
      const hash = want.hashes.get(strongest.algo);
      const slash = path.lastIndexOf('/');
      const hashed = `${dir}${path.slice(0, slash + 1)}by-hash/${strongest.field}/${hash}`;
      if (hash && (await sizeOf(ctx, hashed)) === undefined)
        f.error(
          'apt',
          hashed,
          'apt.by-hash-missing',
          `Acquire-By-Hash is on and ${path}'s ${strongest.field} copy is missing: apt falls back to the plain name, which a publish replaces in place`,
        );
    }
  });
  // Each index (one name, several compressions) must be there in at least one form.
  const indexes = new Map<string, string[]>();
  for (const path of listed.keys()) {
    const base = path.replace(/\.(gz|xz|bz2|lzma|zst|lz4)$/, '');
    indexes.set(base, [...(indexes.get(base) ?? []), path]);
  }
  let packagesFiles = 0;
  const debs = new Map<string, ListedPackage>();
  for (const [base, forms] of indexes) {
    const got = forms.filter((p) => present.has(p));
    if (got.length === 0) {
      f.error(
        'apt',
        dir + base,
        'apt.index-missing',
        `listed in Release (${forms.join(', ')}), but no form of it is there`,
      );
      continue;
    }
    if (!/(^|\/)Packages$/.test(base)) continue;
    packagesFiles++;
    let content: Uint8Array | undefined;
    for (const p of got) {
      content = await uncompressed(p, present.get(p)!).catch(() => undefined);
      if (content) break;
    }
    if (!content) {
      f.warning('apt', dir + base, 'apt.index-unreadable', `none of ${got.join(', ')} could be read`);
      continue;
    }
    let paragraphs: ReturnType<typeof parseParagraphs>;
    try {
      paragraphs = parseParagraphs(decodeUtf8(content));
    } catch (err) {
      f.error('apt', dir + base, 'apt.packages-syntax', (err as Error).message);
      continue;
    }
    for (const p of paragraphs) {
      const filename = getField(p, 'Filename');
      const size = Number(getField(p, 'Size'));
      if (!filename || !Number.isInteger(size)) {
        f.error(
          'apt',
          dir + base,
          'apt.packages-syntax',
          `${getField(p, 'Package') ?? 'an entry'} has no Filename or Size`,
        );
        continue;
      }
      const hashes = new Map<string, string>();
      for (const { field, algo } of PACKAGE_HASHES) {
        const v = getField(p, field);
        if (v) hashes.set(algo, v.toLowerCase());
      }
      debs.set(root + filename, { size, hashes, from: dir + base });
    }
  }
  ctx.status(`apt ${dir}: ${debs.size} packages`);
  // Packages read on this thread (each whole up to READ_WHOLE): four at a time, however many the
  // hashing workers have in hand.
  const readWhole = limiter(4);
  await mapLimit(
    [...debs],
    // Read on this thread: four at a time. Hashed on the workers: enough to fill their batches
    // (a package handed back to be judged here in full waits at `readWhole`).
    !ctx.deep ? ctx.concurrency : ctx.hasher?.parallel ? 256 : Math.min(ctx.concurrency, 4),
    async ([key, want]) => {
      const size = await sizeOf(ctx, key);
      if (size === undefined) {
        f.error(
          'apt',
          key,
          'apt.package-missing',
          `named by ${want.from}, but not there: apt install fails with 404`,
        );
        return;
      }
      if (size !== want.size && size >= 0) {
        f.error('apt', key, 'apt.package-size', `${want.from} says ${want.size} bytes, the file has ${size}`);
        return;
      }
      if (!ctx.deep) return;
      if (ctx.hasher && ctx.source.localPath) await deepCheckOnWorker(ctx, key, want, readWhole);
      else await deepCheck(ctx, key, want);
    },
  );
  ctx.findings.covered(
    'apt',
    `${dir}: ${listed.size} index files (${packagesFiles} Packages), ${debs.size} packages${ctx.deep ? ' read' : ''}`,
  );
}

/**
 * A package this size or smaller is read whole for --deep: its .asc is then checked over bytes in
 * memory, and openpgp's streaming verify (web streams, a transform per chunk) cost more than the
 * hashing for 5,000 small debs (bench/verify.ts). Four are read at a time (`readWhole`).
 */
const READ_WHOLE = 8 << 20;

/** --deep over a web server or a bucket: the package read here, its .asc checked on the way. */
async function deepCheck(ctx: VerifyContext, key: string, listed: ListedPackage): Promise<void> {
  const { size, hashes: want, from } = listed;
  const f = ctx.findings;
  const ascKey = `${key}.asc`;
  const asc = hasAsc(ctx, ascKey) ? await ctx.source.get(ascKey) : undefined;
  const sig = asc && ctx.signatures ? await parseDetached(asc) : undefined;
  const compare = (got: Record<string, string>) => compareHashes(ctx, key, want, from, got);
  const data = size <= READ_WHOLE ? await ctx.source.get(key) : await ctx.source.getStream(key);
  if (!data) {
    f.error('apt', key, 'apt.package-missing', `named by ${from}, but not there`);
    return;
  }
  const known = sig && ctx.signatures?.knows(sig) ? sig : undefined;
  const algos = [...want.keys()];
  if (known && !algos.includes(known.hash)) algos.push(known.hash);
  const hashers = algos.map((a) => [a, createHash(a)] as const);
  if (known) {
    const h = hashers.find(([a]) => a === known.hash)![1];
    if (data instanceof Uint8Array) for (const [, x] of hashers) x.update(data);
    else for await (const chunk of data) for (const [, x] of hashers) x.update(chunk as Buffer);
    const signed = h.copy().update(known.trailer).digest('hex');
    reportSignature(ctx, ascKey, 'apt.package-asc', ctx.signatures!.check(known, signed));
  } else if (asc && ctx.trust) {
    const check = await checkDetached(
      data,
      asc,
      ctx.trust,
      ctx.now,
      hashers.map(([, h]) => h),
    );
    reportSignature(ctx, ascKey, 'apt.package-asc', check);
    if (sig) ctx.signatures?.remember(sig, check);
  } else if (data instanceof Uint8Array) {
    for (const [, h] of hashers) h.update(data);
  } else {
    for await (const chunk of data) for (const [, h] of hashers) h.update(chunk as Buffer);
  }
  compare(
    Object.fromEntries(hashers.filter(([a]) => want.has(a)).map(([algo, h]) => [algo, h.digest('hex')])),
  );
}

/** Whether a package's `.asc` is worth asking for: there is trust to check it, and it may be there. */
function hasAsc(ctx: VerifyContext, ascKey: string): boolean {
  return ctx.trust !== undefined && (ctx.files.sizes.has(ascKey) || !ctx.files.exact);
}

function compareHashes(
  ctx: VerifyContext,
  key: string,
  want: Map<string, string>,
  from: string,
  got: Record<string, string>,
): void {
  for (const [algo, listed] of want)
    if (got[algo] !== listed)
      ctx.findings.error(
        'apt',
        key,
        'apt.package-hash',
        `${from} lists ${algo} ${listed}, the file has ${got[algo]}`,
      );
}

/**
 * --deep over a folder: the package and its `.asc` are read on a hashing worker, which checks the
 * signature from the digest when its template is known. The first of each template, and a
 * signature that path cannot parse, are judged here in full by openpgp.js.
 */
async function deepCheckOnWorker(
  ctx: VerifyContext,
  key: string,
  listed: ListedPackage,
  readWhole: ReturnType<typeof limiter>,
): Promise<void> {
  const { size, hashes: want, from } = listed;
  const ascKey = `${key}.asc`;
  const localPath = ctx.source.localPath!;
  const ascPath = ctx.signatures && hasAsc(ctx, ascKey) ? localPath(ascKey) : undefined;
  const got = await ctx.hasher!.hash(localPath(key), [...want.keys()], ascPath);
  if (!got) {
    ctx.findings.error('apt', key, 'apt.package-missing', `named by ${from}, but not there`);
    return;
  }
  compareHashes(ctx, key, want, from, got.digests);
  const read = got.signature;
  if (!read || read.state === 'absent') return;
  const templates = ctx.signatures!;
  const full = () =>
    readWhole(async () => {
      const [data, asc] = await Promise.all([
        size <= READ_WHOLE ? ctx.source.get(key) : ctx.source.getStream(key),
        ctx.source.get(ascKey),
      ]);
      if (!data || !asc)
        return { goodBy: [], problems: ['the package or its .asc went away while it was read'] };
      return checkDetached(data, asc, ctx.trust!, ctx.now);
    });
  const check =
    read.state === 'checked'
      ? templates.verdictOf(read.template, read.verified)
      : read.state === 'unknown'
        ? await templates.judge(read.sig, read.signed, full)
        : await full();
  reportSignature(ctx, ascKey, 'apt.package-asc', check);
}

function checkDates(ctx: VerifyContext, file: string, fields: ReturnType<typeof parseControl>): void {
  const f = ctx.findings;
  const date = getField(fields, 'Date');
  const validUntil = getField(fields, 'Valid-Until');
  if (!date) f.warning('apt', file, 'apt.date', 'has no Date: apt cannot tell an old Release from a new one');
  else {
    const t = Date.parse(date);
    if (Number.isNaN(t)) f.error('apt', file, 'apt.date', `Date "${date}" cannot be read`);
    else if (t > ctx.now.getTime() + CLOCK_SKEW_MS)
      f.error('apt', file, 'apt.date', `Date ${date} is in the future: apt says "not valid yet"`);
  }
  if (validUntil) {
    const t = Date.parse(validUntil);
    if (Number.isNaN(t))
      f.error('apt', file, 'apt.valid-until', `Valid-Until "${validUntil}" cannot be read`);
    else if (t <= ctx.now.getTime())
      f.error(
        'apt',
        file,
        'apt.valid-until',
        `expired at ${validUntil}: apt refuses it until the next publish`,
      );
    else if (t - ctx.now.getTime() < 2 * 86_400_000)
      f.warning(
        'apt',
        file,
        'apt.valid-until',
        `expires at ${validUntil}, within two days: publish (or re-sign) before then`,
      );
  }
}
