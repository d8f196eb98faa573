import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutputFile } from './types.js';

/**
 * Generated bodies at least this big go to a temp file as soon as they exist. A 2,000-row listing
 * page is about 0.8 MB and a 100,000-driver folder has 50 of them, so a 1 MiB bar would leave
 * every page in memory until apply; below 256 KiB a file costs more than the memory it frees.
 */
export const SPILL_THRESHOLD = 256 * 1024;

/**
 * Temp files for big generated outputs (a driver version's json, listing pages and listing.json
 * of a big folder), so they are not all held in memory from the moment they are built until apply
 * writes them. The files are pkgpub's own (`movable`): a folder target renames them into place, S3
 * streams them. `cleanup()` after apply, or when the run fails; --dry-run only ever writes here.
 */
export class Spill {
  private dir: Promise<string> | undefined;
  private count = 0;

  constructor(private readonly threshold = SPILL_THRESHOLD) {}

  /** The output itself when it is small or already a file, else the same output backed by a temp file. */
  async file(f: OutputFile): Promise<OutputFile> {
    if (!('bytes' in f.body) || f.body.bytes.length < this.threshold) return f;
    this.dir ??= mkdtemp(join(tmpdir(), 'pkgpub-out-'));
    const path = join(await this.dir, String(++this.count));
    const fh = await open(path, 'wx');
    try {
      await fh.writeFile(f.body.bytes);
      // A folder target renames this file into place without copying, so it must be as durable
      // as the bytes FsStore would have written and synced itself.
      await fh.sync();
    } finally {
      await fh.close();
    }
    return { ...f, body: { file: path, size: f.size, movable: true } };
  }

  /** Spills in place, one at a time: each big body becomes garbage as soon as its file is written. */
  async files(outputs: OutputFile[]): Promise<void> {
    for (let i = 0; i < outputs.length; i++) outputs[i] = await this.file(outputs[i]!);
  }

  async cleanup(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    // A temp dir left behind must not fail a run whose writes are done.
    await dir?.then((d) => rm(d, { recursive: true, force: true })).catch(() => {});
  }
}
