import { describe, expect, it } from 'vitest';
import { parsePendingGarbage, renderPendingGarbage, scheduleGarbage } from '../../src/transaction/garbage.js';

const t0 = new Date('2026-11-24T10:00:00Z');
const at = (min: number) => new Date(t0.getTime() + min * 60_000);

describe('deferred garbage', () => {
  it('records new garbage, deletes it only after the grace period, and forgets re-referenced keys', () => {
    const first = scheduleGarbage([], ['a', 'b'], new Set(), t0, 3_600_000);
    expect(first.deleteNow).toEqual([]);
    expect(first.pending.map((p) => p.key)).toEqual(['a', 'b']);
    const second = scheduleGarbage(first.pending, ['c'], new Set(['b']), at(30), 3_600_000);
    expect(second.deleteNow).toEqual([]);
    expect(second.pending.map((p) => p.key)).toEqual(['a', 'c']);
    const third = scheduleGarbage(second.pending, [], new Set(), at(61), 3_600_000);
    expect(third.deleteNow).toEqual(['a']);
    expect(third.pending.map((p) => p.key)).toEqual(['c']);
    expect(third.pending[0]!.since).toBe(at(30).toISOString());
  });

  it('a grace of 0 deletes at once; the record round-trips and a damaged one reads as empty', () => {
    expect(scheduleGarbage([], ['x'], new Set(), t0, 0).deleteNow).toEqual(['x']);
    const pending = [{ key: 'k', since: t0.toISOString() }];
    expect(parsePendingGarbage(new TextEncoder().encode(renderPendingGarbage(pending)))).toEqual(pending);
    expect(parsePendingGarbage(new TextEncoder().encode('{not json'))).toEqual([]);
  });
});
