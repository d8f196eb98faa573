import { mkdtempSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpillingOutput } from './spilling-output.js';
import type { TextOutput } from '../model/text-output.js';
import type { OutputFile, Tier } from '../model/tiers.js';

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
  private dir: string | undefined;
  private count = 0;
  /** One encoding buffer lent to the output being written (they are written one at a time). */
  private scratch: Uint8Array | undefined;

  constructor(private readonly threshold = SPILL_THRESHOLD) {}

  /** A fresh temp file name in this spill's folder, made on first use. */
  private nextPath(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'pkgpub-out-'));
    return join(this.dir, String(++this.count));
  }

  /**
   * An output written as it is generated: kept in memory while it stays under the threshold,
   * else streamed to a temp file through one small buffer, so the document is never whole in memory.
   */
  readonly open = (key: string, tier: Tier): TextOutput => {
    const buffer = this.scratch ?? new Uint8Array(Math.max(this.threshold, SPILL_THRESHOLD));
    this.scratch = undefined;
    return new SpillingOutput(key, tier, {
      buffer,
      threshold: this.threshold,
      path: () => this.nextPath(),
      done: (b) => {
        this.scratch = b;
      },
    });
  };

  /** The output itself when it is small or already a file, else the same output backed by a temp file. */
  async file(f: OutputFile): Promise<OutputFile> {
    if (!('bytes' in f.body) || f.body.bytes.length < this.threshold) return f;
    const path = this.nextPath();
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
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
