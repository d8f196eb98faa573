import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Compression } from '../artifacts/types.js';
import { createDecompressor } from '../formats/decompress.js';
import type { SiteFiles } from './discover.js';
import type { Findings } from './findings.js';
import type { FileHasher } from './hash-files.js';
import type { SignatureTemplates } from './signature-templates.js';
import type { SiteSource } from './site-source.js';
import type { SignatureCheck, Trust } from './trust.js';

/** What every part's check is given. */
export interface VerifyContext {
  source: SiteSource;
  files: SiteFiles;
  /** Undefined when neither --key nor the site gave a key: signatures are then reported unchecked. */
  trust: Trust | undefined;
  now: Date;
  /** Read every package and driver and check its hashes (and its .asc). */
  deep: boolean;
  findings: Findings;
  /** --deep over a folder: hashes its files on every core. */
  hasher?: FileHasher;
  /** --deep with trust: signatures that share a judged template are checked from their digest. */
  signatures?: SignatureTemplates;
  /** Requests in flight at once. */
  concurrency: number;
  status(line: string): void;
}

/**
 * The size of `key` as a client meets it. From the store's own list when there is one; over HTTP
 * a listing's word is no proof, so the server is asked.
 */
export async function sizeOf(ctx: VerifyContext, key: string): Promise<number | undefined> {
  if (ctx.files.exact) return ctx.files.sizes.get(key);
  return ctx.source.size(key);
}

/** An index's bytes, uncompressed by its name's suffix (at most 1 GiB: a bigger one is not an index). */
export async function uncompressed(name: string, bytes: Uint8Array): Promise<Uint8Array | undefined> {
  const kind: Compression | undefined = name.endsWith('.gz')
    ? 'gzip'
    : name.endsWith('.xz')
      ? 'xz'
      : name.endsWith('.zst')
        ? 'zstd'
        : /\.(bz2|lzma|lz4)$/.test(name)
          ? undefined
          : 'none';
  if (kind === undefined) return undefined;
  if (kind === 'none') return bytes;
  const chunks: Buffer[] = [];
  await pipeline(Readable.from([bytes]), createDecompressor(kind, 1 << 30), async (src) => {
    for await (const c of src) chunks.push(c as Buffer);
  });
  return Buffer.concat(chunks);
}

/** A signature check as findings: an error without a good signature by a trusted key, else notes for the rest. */
export function reportSignature(ctx: VerifyContext, file: string, rule: string, check: SignatureCheck): void {
  const part = rule.split('.')[0] as 'apt' | 'yum' | 'tarballs' | 'drivers';
  if (check.goodBy.length === 0)
    ctx.findings.error(part, file, rule, check.problems.join('; ') || 'no good signature by a trusted key');
  else for (const p of check.problems) ctx.findings.note(part, file, rule, p);
}
