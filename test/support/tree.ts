import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Every file below `dir` with its mtime: equal maps mean nothing was written. */
export async function tree(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), (await stat(p)).mtimeMs);
    }
  };
  await walk(dir);
  return out;
}
