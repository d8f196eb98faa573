import { sha256Hex } from '../artifacts/checksums.js';
import type { OutputFile, Tier } from './tiers.js';

const CONTENT_TYPES: [RegExp, string][] = [
  [/\.deb$/, 'application/vnd.debian.binary-package'],
  [/\.rpm$/, 'application/x-rpm'],
  [/\.(asc|gpg)$/, 'application/pgp-signature'],
  [/\.gz$/, 'application/gzip'],
  [/\.xz$/, 'application/x-xz'],
  [/\.zst$/, 'application/zstd'],
  [/\.json$/, 'application/json'],
  [/\.html$/, 'text/html; charset=utf-8'],
  [/\.css$/, 'text/css; charset=utf-8'],
  [/\.js$/, 'text/javascript; charset=utf-8'],
  [/\.xml$/, 'application/xml'],
  [/\.(repo|list|sources|txt)$|(^|\/)(Release|InRelease|Packages|SHA256SUMS)$/, 'text/plain; charset=utf-8'],
  [/\.(ko|o)$/, 'application/x-elf'],
];

/** Content type by name: one table for S3 metadata and `pkgpub serve`. */
export function contentTypeFor(key: string): string {
  for (const [re, type] of CONTENT_TYPES) if (re.test(key)) return type;
  return 'application/octet-stream';
}

export function bytesFile(key: string, tier: Tier, data: Uint8Array | string, order?: number): OutputFile {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return {
    key,
    tier,
    body: { bytes },
    sha256: sha256Hex(bytes),
    size: bytes.length,
    contentType: contentTypeFor(key),
    ...(order !== undefined ? { order } : {}),
  };
}

/** An object already in the tree, as the index that names it describes it. */
export interface StoredObject {
  key: string;
  sha256: string;
  size: number;
  /** Hex MD5 where the index lists one (Packages' MD5sum). */
  md5?: string;
}

/** A blob that is the very bytes of `source`, copied inside the store (see CopyBody). */
export function copiedFile(key: string, source: StoredObject, immutable: boolean): OutputFile {
  return {
    key,
    tier: 'blob',
    body: { copyFrom: source.key },
    sha256: source.sha256,
    size: source.size,
    ...(source.md5 ? { md5: source.md5 } : {}),
    contentType: contentTypeFor(key),
    immutable,
  };
}
