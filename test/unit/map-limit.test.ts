import { expect, it } from 'vitest';
import { limiter, mapLimit } from '../../src/map-limit.js';

it('limiter: never more than its limit at once, in the order asked, and a failure frees its place', async () => {
  const gate = limiter(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const task = (i: number) =>
    gate(async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      if (i === 3) throw new Error('task 3 failed');
      return i * 10;
    });
  const results = await Promise.allSettled([0, 1, 2, 3, 4, 5, 6].map(task));
  expect(most).toBe(2);
  expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
  expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual([
    0,
    10,
    20,
    'failed',
    40,
    50,
    60,
  ]);
  // Every place was given back: a limit's worth run at once again.
  let again = 0;
  await Promise.all(
    [1, 2].map(() =>
      gate(async () => {
        again++;
        await new Promise((r) => setTimeout(r, 2));
        expect(again).toBe(2);
      }),
    ),
  );
});

it('mapLimit keeps the order of results', async () => {
  expect(await mapLimit([3, 1, 2], 2, async (n) => n * 2)).toEqual([6, 2, 4]);
});
