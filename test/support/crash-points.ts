import { expect } from 'vitest';

/**
 * Splits "a publish killed after each single write" over several tests, so none comes near its
 * timeout: shard i tries the crash points k = i, i + shards, i + 2·shards, … until the publish
 * allowed k writes no longer crashes (it got past every write). The number of writes is not
 * taken from a dry-run plan: the publish may write more than its plan (a lock object, say), and
 * every one of those writes is a crash point too. `expectAllCovered` (in a test after the shards)
 * checks that the shards together tried every point from 0 to the last write.
 */
export class CrashPoints {
  private readonly crashed = new Set<number>();
  /** shard -> the number of writes of its publish that completed. */
  private readonly totals = new Map<number, number>();

  constructor(
    readonly shards: number,
    /** Sanity bound: a publish still crashing after this many writes is a runaway. */
    readonly limit = 1000,
  ) {}

  get shardIds(): number[] {
    return Array.from({ length: this.shards }, (_, i) => i);
  }

  /**
   * `attempt(k)` runs a publish that may make only k writes and checks what it left; it returns
   * undefined when that publish crashed, or the number of writes it made when it completed.
   */
  async run(shard: number, attempt: (k: number) => Promise<number | undefined>): Promise<number[]> {
    const mine: number[] = [];
    for (let k = shard; ; k += this.shards) {
      if (k > this.limit) throw new Error(`the publish still crashes with ${k} writes allowed: runaway?`);
      const writes = await attempt(k);
      if (writes === undefined) {
        this.crashed.add(k);
        mine.push(k);
        continue;
      }
      expect(writes, `the publish allowed ${k} writes completed with more`).toBeLessThanOrEqual(k);
      this.totals.set(shard, writes);
      return mine;
    }
  }

  /** Every shard ran to a completed publish, all saw the same number of writes, and every point below it crashed. */
  expectAllCovered(atLeast: number): number {
    expect(
      [...this.totals.keys()].sort((a, b) => a - b),
      'shards that ran to the end',
    ).toEqual(this.shardIds);
    const totals = [...new Set(this.totals.values())];
    expect(totals, 'writes of a completed publish, per shard').toHaveLength(1);
    const total = totals[0]!;
    expect(
      [...this.crashed].sort((a, b) => a - b),
      'crash points tried',
    ).toEqual(Array.from({ length: total }, (_, k) => k));
    expect(total, 'crash points').toBeGreaterThan(atLeast);
    return total;
  }
}
