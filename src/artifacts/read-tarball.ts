import { basename } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { ArtifactError } from '../errors.js';
import { knownTarballArches, tarballArch } from './arch-names.js';
import { MultiHasher } from './checksums.js';
import type { PrehashTemplate } from '../signing/prehash.js';
import { openArtifact, READ_CHUNK } from './open-file.js';
import type { TarballArtifact } from './types.js';

export interface TarballName {
  name: string;
  version: string;
  /** Canonical arch: amd64 and arm64 are folded onto x86_64 and aarch64. */
  arch: string;
  static: boolean;
}

const SUFFIXES = ['.tar.gz', '.tgz'];

/**
 * Splits `<name>-<version>[-static]-<arch>.tar.gz`.
 *
 * Names and versions may both hold dashes (`falco-0.40.0-rc1-aarch64`), so the split works from
 * both ends: the last dash-part is the arch and must be a known arch name; the part before it, if it
 * is exactly `static`, marks a static build; of what is left, the name is every part before the
 * first part that starts with a digit, and the version is that part and everything after it.
 * Returns a reason string when the name does not fit.
 */
export function parseTarballName(fileName: string): TarballName | string {
  const suffix = SUFFIXES.find((s) => fileName.endsWith(s));
  if (!suffix) return 'file name must end in .tar.gz';
  const parts = fileName.slice(0, -suffix.length).split('-');
  const expected = 'expected <name>-<version>[-static]-<arch>.tar.gz';
  const rawArch = parts.pop();
  const arch = rawArch === undefined ? undefined : tarballArch(rawArch);
  if (arch === undefined) {
    return `file name does not end in a known arch (${knownTarballArches().join(', ')}); ${expected}`;
  }
  const isStatic = parts.length > 0 && parts[parts.length - 1] === 'static';
  if (isStatic) parts.pop();
  const firstVersionPart = parts.findIndex((p) => /^[0-9]/.test(p));
  if (firstVersionPart <= 0) {
    return firstVersionPart === 0
      ? `file name has no package name before the version; ${expected}`
      : `file name has no version (a dash-part starting with a digit); ${expected}`;
  }
  const name = parts.slice(0, firstVersionPart).join('-');
  const version = parts.slice(firstVersionPart).join('-');
  if (parts.slice(0, firstVersionPart).some((p) => p === ''))
    return `file name has an empty part; ${expected}`;
  if (parts.slice(firstVersionPart).some((p) => p === '')) return `version has an empty part; ${expected}`;
  return { name, version, arch, static: isStatic };
}

/**
 * Reads a release tarball in one streaming pass: the raw bytes are hashed as they are read and the
 * same chunks are inflated and walked as tar, so a file merely named .tar.gz (or cut short) is
 * refused before it is published. Entry bodies are drained, never buffered.
 */
export async function readTarball(path: string, prehash?: PrehashTemplate): Promise<TarballArtifact> {
  const parsed = parseTarballName(basename(path));
  if (typeof parsed === 'string') throw new ArtifactError(path, parsed);

  const { chunks, fileName } = await openArtifact(path);
  const hasher = new MultiHasher(undefined, prehash);
  const hashTap = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hasher.update(chunk);
      cb(null, chunk);
    },
  });

  let entries = 0;
  const extract = tar.extract();
  extract.on('entry', (_header, body, next) => {
    entries++;
    // A failure mid-entry destroys the body with the pipeline's own error, which the pipeline
    // already reports: an unlistened 'error' here would crash the process instead.
    body.on('error', () => {});
    body.on('end', () => next());
    body.resume();
  });

  try {
    // zlib's default 16 KiB output chunks cost more in per-chunk stream overhead than in inflating.
    const source = chunks instanceof Readable ? chunks : Readable.from(chunks, { objectMode: false });
    await pipeline(source, hashTap, createGunzip({ chunkSize: READ_CHUNK }), extract);
  } catch (err) {
    throw new ArtifactError(path, describeFailure(err), { cause: err });
  }
  if (entries === 0) throw new ArtifactError(path, 'tar archive has no entries');

  const signatureDigest = hasher.signatureDigest();
  const digests = hasher.digest();
  return {
    ...(signatureDigest ? { signatureDigest } : {}),
    kind: 'tarball',
    path,
    fileName,
    name: parsed.name,
    version: parsed.version,
    arch: parsed.arch,
    static: parsed.static,
    entries,
    size: digests.size,
    sha256: digests.sha256,
    digests,
  };
}

/** One line a user can act on, from zlib's, tar-stream's or the file system's error. */
function describeFailure(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code?.startsWith('Z_')) {
    if (code === 'Z_BUF_ERROR') return 'gzip data ends early (truncated file?)';
    if (/header/i.test(e.message)) return 'not gzip-compressed (bad gzip header)';
    return `corrupt gzip data (${e.message})`;
  }
  if (code !== undefined) return `read failed (${e.message})`;
  // tar-stream's errors carry no code.
  if (/unexpected end of data/i.test(e.message)) return 'tar archive ends early (truncated, or not a tar)';
  if (/header/i.test(e.message)) return 'gzip content is not a tar archive';
  return `not a valid tar archive (${e.message})`;
}
