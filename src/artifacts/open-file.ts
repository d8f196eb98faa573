import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ArtifactError } from '../errors.js';

/** Chunk size for every artifact read: memory per reader stays at a few of these. */
export const READ_CHUNK = 256 * 1024;

/**
 * Opens an artifact for one streaming pass, turning the usual OS failures into one-line
 * ArtifactErrors (missing, a directory, empty) before any parser sees a byte.
 */
export async function openArtifact(
  path: string,
): Promise<{ stream: ReadStream; size: number; fileName: string }> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ArtifactError(path, code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? 'error'})`, {
      cause: err,
    });
  }
  if (st.isDirectory()) throw new ArtifactError(path, 'is a directory, not a package file');
  if (!st.isFile()) throw new ArtifactError(path, 'is not a regular file');
  if (st.size === 0) throw new ArtifactError(path, 'is empty');
  return {
    stream: createReadStream(path, { highWaterMark: READ_CHUNK }),
    size: st.size,
    fileName: basename(path),
  };
}
