import { describe, expect, it } from 'vitest';
import {
  boundedSummary,
  DRIVERS_RECORD,
  generationBack,
  type HistoryRecord,
  historyKey,
  parseHistory,
  partsByKind,
  reconcileHistory,
  recordRun,
  renderHistory,
  type RunRecord,
  unreadParts,
} from '../../src/model/history.js';
import { isBookkeeping } from '../../src/site/listing-model.js';

const empty = (): HistoryRecord => ({ channel: 'stable', entries: [] });
let minute = 0;
function run(over: Partial<RunRecord>): RunRecord {
  minute++;
  return {
    date: new Date(Date.UTC(2026, 11, 2, 6, minute)).toISOString(),
    command: 'publish',
    read: {},
    written: {},
    summary: {},
    dropped: {},
    revived: new Set(),
    ...over,
  };
}

/** Publishes in a row: each reads what the one before wrote. */
function chain(generations: number, steps: { apt: string; dropped?: string[]; revived?: string[] }[]) {
  let record = empty();
  let current = '';
  const released: string[][] = [];
  for (const s of steps) {
    const r = recordRun(
      record,
      run({
        read: { apt: current },
        written: { apt: s.apt },
        dropped: s.dropped ? { apt: s.dropped } : {},
        revived: new Set(s.revived ?? []),
      }),
      generations,
    );
    record = r.record;
    released.push(r.released);
    current = s.apt;
  }
  return { record, released };
}

describe('channel history record', () => {
  it('pushes generations newest last, carries untouched parts forward and fills in parts it meets first', () => {
    let r = recordRun(
      empty(),
      run({
        read: { apt: '' },
        written: { apt: 'A1' },
        summary: { apt: { added: ['x 1 amd64'], removed: [] } },
      }),
      5,
    );
    expect(r.record.entries.map((e) => e.id)).toEqual([1]);
    expect(r.record.entries[0]!.snapshot).toEqual({ apt: 'A1' });
    r = recordRun(r.record, run({ read: { yum: '' }, written: { yum: 'Y1' } }), 5);
    // yum is new to the history: the earlier generation had none, and apt is carried forward.
    expect(r.record.entries.map((e) => e.snapshot)).toEqual([
      { apt: 'A1', yum: '' },
      { apt: 'A1', yum: 'Y1' },
    ]);
    r = recordRun(r.record, run({ read: { 'bin/amd64': '' }, written: { 'bin/amd64': 'S1' } }), 5);
    expect(r.record.entries.at(-1)!.snapshot).toEqual({ apt: 'A1', yum: 'Y1', 'bin/amd64': 'S1' });
    expect(r.record.entries[0]!.snapshot['bin/amd64']).toBe('');
    expect(partsByKind(r.record)).toEqual(
      new Map([
        ['apt', ['apt']],
        ['bin', ['bin/amd64']],
        ['yum', ['yum']],
      ]),
    );
    expect(r.released).toEqual([]);
  });

  it('starts with a baseline generation when history begins on a tree that already holds something', () => {
    const r = recordRun(
      empty(),
      run({ read: { apt: 'OLD' }, written: { apt: 'NEW' }, dropped: { apt: ['gone.deb'] } }),
      5,
    );
    expect(r.record.entries.map((e) => [e.id, e.command, e.snapshot.apt])).toEqual([
      [0, 'baseline', 'OLD'],
      [1, 'publish', 'NEW'],
    ]);
    // The baseline is the oldest kept generation, so the run's garbage waits in generation 1.
    expect(r.record.entries[1]!.dropped).toEqual({ apt: ['gone.deb'] });
    expect(r.released).toEqual([]);
    expect(generationBack(r.record, 1).snapshot.apt).toBe('OLD');
  });

  it('trims to N+1 generations and releases exactly the keys only dropped generations named', () => {
    const { record, released } = chain(2, [
      { apt: 'A1' },
      { apt: 'A2', dropped: ['k2'] },
      { apt: 'A3', dropped: ['k3'] },
      { apt: 'A4', dropped: ['k4'] },
      { apt: 'A5', dropped: ['k5'] },
    ]);
    expect(record.entries.map((e) => e.snapshot.apt)).toEqual(['A3', 'A4', 'A5']);
    // k2 was needed by A1 only; k3 by A2 only: released once A1, then A2, fell off.
    expect(released).toEqual([[], [], [], ['k2'], ['k3']]);
    expect(record.entries.map((e) => e.dropped)).toEqual([{}, { apt: ['k4'] }, { apt: ['k5'] }]);
    // Nothing is released twice, and no kept generation's keys were released.
    const kept = new Set(record.entries.flatMap((e) => Object.values(e.dropped).flat()));
    for (const k of released.flat()) expect(kept.has(k)).toBe(false);
  });

  it("generations 0 keeps the current state only: a run's garbage is released at once", () => {
    const { record, released } = chain(0, [{ apt: 'A1' }, { apt: 'A2', dropped: ['k2'] }]);
    expect(record.entries.map((e) => e.snapshot.apt)).toEqual(['A2']);
    expect(released).toEqual([[], ['k2']]);
  });

  it('a key named again leaves every dropped list (revived), so trimming never releases it', () => {
    const { record, released } = chain(1, [
      { apt: 'A1' },
      { apt: 'A2', dropped: ['pool/x.deb', 'pool/x.deb.asc'] },
      { apt: 'A3', dropped: ['k3'], revived: ['pool/x.deb', 'pool/x.deb.asc'] },
      { apt: 'A4', dropped: ['k4'] },
    ]);
    expect(released.flat()).not.toContain('pool/x.deb');
    expect(released.flat()).toEqual(['k3']);
    expect(record.entries.flatMap((e) => Object.values(e.dropped).flat())).toEqual(['k4']);
  });

  it('holds a key once: garbage already held back by a kept generation is not listed again', () => {
    const { record } = chain(5, [
      { apt: 'A1' },
      { apt: 'A2', dropped: ['repodata/old'] },
      { apt: 'A3', dropped: ['repodata/old', 'k3'] },
    ]);
    expect(record.entries.map((e) => e.dropped)).toEqual([{}, { apt: ['repodata/old'] }, { apt: ['k3'] }]);
  });

  it('corrects a newest generation whose run died before its pointers, forgetting its dropped keys', () => {
    const { record } = chain(5, [{ apt: 'A1' }, { apt: 'A2', dropped: ['k2'] }]);
    // The run that wrote A3 died after the history, before InRelease: the tree still says A2.
    const phantom = recordRun(
      record,
      run({ read: { apt: 'A2' }, written: { apt: 'A3' }, dropped: { apt: ['a2-only'] } }),
      5,
    ).record;
    const fixed = reconcileHistory(phantom, { apt: 'A2' });
    // Identical to the generation before it and holding nothing back: it goes.
    expect(fixed.entries.map((e) => e.snapshot.apt)).toEqual(['A1', 'A2']);
    expect(fixed.entries.flatMap((e) => Object.values(e.dropped).flat())).toEqual(['k2']);
    // Nothing named by a committed state is released by the next run either.
    const next = recordRun(
      phantom,
      run({ read: { apt: 'A2' }, written: { apt: 'A4' }, dropped: { apt: ['k4'] } }),
      5,
    );
    expect(next.released).toEqual([]);
    expect(next.record.entries.map((e) => e.snapshot.apt)).toEqual(['A1', 'A2', 'A4']);
    expect(next.record.entries.flatMap((e) => Object.values(e.dropped).flat()).sort()).toEqual(['k2', 'k4']);
    expect(next.record.entries.flatMap((e) => Object.values(e.dropped).flat())).not.toContain('a2-only');
  });

  it('a partly committed run keeps its committed parts and corrects the rest', () => {
    let rec = recordRun(
      empty(),
      run({ read: { apt: '', yum: '' }, written: { apt: 'A1', yum: 'Y1' } }),
      5,
    ).record;
    rec = recordRun(
      rec,
      run({
        read: { apt: 'A1', yum: 'Y1' },
        written: { apt: 'A2', yum: 'Y2' },
        dropped: { apt: ['ka'], yum: ['ky'] },
      }),
      5,
    ).record;
    // apt's pointers landed, yum's did not.
    const fixed = reconcileHistory(rec, { apt: 'A2', yum: 'Y1' });
    const newest = fixed.entries.at(-1)!;
    expect(newest.snapshot).toEqual({ apt: 'A2', yum: 'Y1' });
    expect(newest.dropped).toEqual({ apt: ['ka'], yum: [] });
    expect(newest.corrected).toEqual(['yum']);
    expect(fixed.entries).toHaveLength(2);
  });

  it('round-trips, and reports a damaged record instead of guessing', () => {
    const { record } = chain(5, [{ apt: 'A1' }, { apt: 'A2', dropped: ['k'] }]);
    const text = renderHistory(record);
    const back = parseHistory(new TextEncoder().encode(text), 'stable');
    expect(back).toEqual({ ok: true, record });
    expect(parseHistory(undefined, 'dev')).toEqual({ ok: true, record: { channel: 'dev', entries: [] } });
    const bad = (s: string) => parseHistory(new TextEncoder().encode(s), 'stable');
    expect(bad('{"entries": [')).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) });
    expect(bad('{"entries": {}}')).toEqual({ ok: false, reason: 'no "entries" list' });
    const broken = JSON.parse(text) as { entries: { dropped: unknown }[] };
    broken.entries[1]!.dropped = { apt: [3] };
    expect(bad(JSON.stringify(broken))).toEqual({ ok: false, reason: 'entry 2 has no dropped lists' });
    const reordered = JSON.parse(text) as { entries: unknown[] };
    reordered.entries.reverse();
    expect(bad(JSON.stringify(reordered))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/id is not above/),
    });
  });

  it('finds the generation K steps back, or says how far the record reaches', () => {
    const { record } = chain(5, [{ apt: 'A1' }, { apt: 'A2' }, { apt: 'A3' }]);
    expect(generationBack(record, 1).snapshot.apt).toBe('A2');
    expect(generationBack(record, 2).snapshot.apt).toBe('A1');
    expect(() => generationBack(record, 3)).toThrow(
      /keeps 2 earlier generations; --steps 3 goes further back/,
    );
    expect(() => generationBack(empty(), 1)).toThrow(/no history yet/);
  });

  it('lives where listings and site rebuild never show or delete it', () => {
    expect(historyKey('dev')).toBe('.pkgpub-history/dev.json');
    expect(isBookkeeping(historyKey('stable'))).toBe(true);
    expect(isBookkeeping('.pkgpub-garbage.json')).toBe(true);
    expect(isBookkeeping('packages/deb/stable/falco.deb')).toBe(false);
  });
  it('holds a preserved copy for the generation before: an output that is not named again', () => {
    // Each run replaces drivers/V and keeps a copy of the json it replaces (keyed by its sha256).
    const copy = (sha: string) => `.pkgpub-history/drivers/${sha}.json`;
    let record: HistoryRecord = { channel: DRIVERS_RECORD, entries: [] };
    const released: string[][] = [];
    for (const [before, after] of [
      ['', 's1'],
      ['s1', 's2'],
      ['s2', 's3'],
      ['s3', 's4'],
    ] as const) {
      const kept = before === '' ? [] : [copy(before)];
      const r = recordRun(
        record,
        run({
          read: { 'drivers/V': before },
          written: { 'drivers/V': after },
          dropped: kept.length ? { 'drivers/V': kept } : {},
          // The transaction names every output again; the copy is one of them.
          revived: new Set([...kept, 'driver/site/V.json']),
          preserved: new Set(kept),
        }),
        2,
      );
      record = r.record;
      released.push(r.released);
    }
    expect(record.entries.map((e) => e.snapshot['drivers/V'])).toEqual(['s2', 's3', 's4']);
    // s1's copy went once the generation naming s1 fell off; s2's and s3's are held.
    expect(released).toEqual([[], [], [], [copy('s1')]]);
    expect(record.entries.map((e) => e.dropped)).toEqual([
      {},
      { 'drivers/V': [copy('s2')] },
      { 'drivers/V': [copy('s3')] },
    ]);
    // Without `preserved` the copy would count as named again and never be released.
    const leaky = recordRun(
      record,
      run({
        read: { 'drivers/V': 's4' },
        written: { 'drivers/V': 's5' },
        dropped: { 'drivers/V': [copy('s4')] },
        revived: new Set([copy('s4')]),
      }),
      2,
    );
    expect(leaky.record.entries.at(-1)!.dropped).toEqual({});
  });

  it('generations 0 releases a preserved copy in the run that makes it', () => {
    const first = recordRun(
      { channel: DRIVERS_RECORD, entries: [] },
      run({ read: { 'drivers/V': '' }, written: { 'drivers/V': 's1' } }),
      0,
    );
    const copy = '.pkgpub-history/drivers/s1.json';
    const r = recordRun(
      first.record,
      run({
        read: { 'drivers/V': 's1' },
        written: { 'drivers/V': 's2' },
        dropped: { 'drivers/V': [copy, 'driver/V/x86_64/a.ko'] },
        revived: new Set([copy]),
        preserved: new Set([copy]),
      }),
      0,
    );
    expect(r.released).toEqual(['driver/V/x86_64/a.ko', copy].sort());
    expect(r.record.entries).toHaveLength(1);
  });

  it('bounds a summary a record keeps several generations of, keeping the counts', () => {
    const many = Array.from({ length: 250 }, (_, i) => `v/x86_64/d${i}.ko`);
    const s = boundedSummary(many, ['gone']);
    expect(s.added).toHaveLength(100);
    expect(s.addedCount).toBe(250);
    expect(s.removed).toEqual(['gone']);
    expect(s.removedCount).toBeUndefined();
    // A bounded summary is still a valid record entry.
    const r = recordRun(
      empty(),
      run({ read: { apt: '' }, written: { apt: 'A' }, summary: { drivers: s } }),
      5,
    );
    const back = parseHistory(new TextEncoder().encode(renderHistory(r.record)), 'stable');
    expect(back.ok && back.record.entries[0]!.summary.drivers!.addedCount).toBe(250);
  });

  it('names the driver tree as such when it reaches no further', () => {
    expect(() => generationBack({ channel: DRIVERS_RECORD, entries: [] }, 1)).toThrow(
      /^the driver tree has no history yet/,
    );
    expect(historyKey(DRIVERS_RECORD)).toBe('.pkgpub-history/drivers.json');
  });
  it('asks for the parts a newest generation changed that a run did not read, so a phantom is corrected whole', () => {
    const v = (sha1: string, sha2: string, list: string) => ({
      drivers: list,
      'drivers/1.0.0': sha1,
      'drivers/2.0.0': sha2,
    });
    let rec = recordRun(
      { channel: DRIVERS_RECORD, entries: [] },
      run({ read: v('', '', ''), written: v('s1', 's2', 'L12') }),
      5,
    ).record;
    // A prune of both versions whose run died after the history, before index.json.
    rec = recordRun(
      rec,
      run({
        read: v('s1', 's2', 'L12'),
        written: v('', '', 'L0'),
        dropped: { 'drivers/1.0.0': ['d1'], 'drivers/2.0.0': ['d2'] },
      }),
      5,
    ).record;
    // A publish of another version reads only its own part and the list.
    const read = { drivers: 'L12', 'drivers/3.0.0': '' };
    const unread = unreadParts(rec, read);
    expect(unread).toEqual(['drivers/1.0.0', 'drivers/2.0.0']);
    // Read as committed, the phantom goes entirely; read only in part, it would stay half a phantom.
    const whole = recordRun(
      rec,
      run({
        read: { ...read, 'drivers/1.0.0': 's1', 'drivers/2.0.0': 's2' },
        written: { 'drivers/3.0.0': 's3' },
      }),
      5,
    );
    expect(whole.record.entries.map((e) => e.command)).toEqual(['publish', 'publish']);
    expect(whole.record.entries.flatMap((e) => Object.values(e.dropped).flat())).toEqual([]);
    const half = recordRun(rec, run({ read, written: { 'drivers/3.0.0': 's3' } }), 5);
    expect(half.record.entries).toHaveLength(3);
    expect(unreadParts({ channel: 'stable', entries: [] }, {})).toEqual([]);
  });
});
