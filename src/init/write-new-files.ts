import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

export interface NewFile {
  /** Relative to the folder they are written into. */
  path: string;
  text: string;
  mode: number;
  /** Mode of the folder holding it when that folder is made here. */
  dirMode?: number;
}

/** The targets that already exist (anything at the path: file, folder, link). */
async function existingTargets(dir: string, files: NewFile[]): Promise<string[]> {
  const found: string[] = [];
  for (const f of files) {
    const exists = await lstat(join(dir, f.path)).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false;
        throw err;
      },
    );
    if (exists) found.push(f.path);
  }
  return found;
}

/** The targets that exist, which `force` allows replacing; without it, an error naming them all. */
export async function checkTargets(dir: string, files: NewFile[], force: boolean): Promise<string[]> {
  const existing = await existingTargets(dir, files);
  if (existing.length > 0 && !force)
    throw new UsageError(
      `init: not overwriting ${existing.join(', ')} in ${dir} (nothing was written; --force replaces them)`,
    );
  return existing;
}

/**
 * Writes every file, or refuses before writing any when one exists and `force` is not set. A
 * replaced file is removed first and made anew with O_EXCL and its mode, so a secret never sits
 * in an old file's wider mode, and a link planted at the path is replaced, not followed.
 */
export async function writeNewFiles(dir: string, files: NewFile[], force: boolean): Promise<void> {
  const existing = await checkTargets(dir, files, force);
  for (const f of files) {
    const path = join(dir, f.path);
    await mkdir(dirname(path), { recursive: true, ...(f.dirMode !== undefined ? { mode: f.dirMode } : {}) });
    if (existing.includes(f.path)) await rm(path, { recursive: false, force: true });
    // wx: a file that appeared since the check is an error, not overwritten.
    await writeFile(path, f.text, { mode: f.mode, flag: 'wx' });
  }
}
