/**
 * A channel's history (or the driver tree's, which no channel owns): the pointer documents of its
 * last generations, so `pkgpub rollback` can put one back, and the keys each generation stopped
 * naming, so garbage waits until no kept generation names it. Pure: parse, render, reconcile with
 * what the tree has committed, record a run, trim. The transaction does the reading and writing
 * (transaction.ts).
 *
 * A generation's state is split in parts, each read through one pointer document: `apt` (the
 * Release text), `yum` (repomd.xml), `bin/<arch>` (that arch's SHA256SUMS); for drivers `drivers`
 * (index.json) and `drivers/<version>` (the sha256 of that version's json: too big to keep as text).
 * '' means the part had no pointer (nothing published there). A part an entry does not name is one
 * history never saw.
 */

/** part -> pointer document text. */
export type Snapshot = Record<string, string>;
/** part -> keys. */
export type PartKeys = Record<string, string[]>;

export interface KindSummary {
  added: string[];
  removed: string[];
  /** How many there were, where the lists keep only the first of them (a 100,000-driver publish). */
  addedCount?: number;
  removedCount?: number;
}

/** A summary short enough for a record that keeps several generations of it. */
export function boundedSummary(
  added: readonly string[],
  removed: readonly string[],
  limit = 100,
): KindSummary {
  return {
    added: added.slice(0, limit),
    removed: removed.slice(0, limit),
    ...(added.length > limit ? { addedCount: added.length } : {}),
    ...(removed.length > limit ? { removedCount: removed.length } : {}),
  };
}

export interface HistoryEntry {
  /** Increasing within a channel's record. */
  id: number;
  /** ISO time of the run that made this generation. */
  date: string;
  /** publish, remove, rollback, … ('baseline': the state found when history began). */
  command: string;
  /** kind (apt, yum, bin) -> what the run added and removed. */
  summary: Record<string, KindSummary>;
  /** Every part known at this generation. */
  snapshot: Snapshot;
  /**
   * Keys the generation before this one named and this one does not: deleted (through the
   * garbage grace) only once no kept generation older than this one remains.
   */
  dropped: PartKeys;
  /** A rollback: the id of the generation it put back. */
  restored?: number;
  /** Parts found to differ from what the tree had committed (a run that died before its pointers). */
  corrected?: string[];
}

export interface HistoryRecord {
  channel: string;
  /** Oldest first. */
  entries: HistoryEntry[];
}

export const HISTORY_DIR = '.pkgpub-history';
/**
 * The record of the driver tree: drivers are not per channel (every channel's drivers live under
 * one prefix), so they keep a record of their own beside the channels' (stable, dev).
 */
export const DRIVERS_RECORD = 'drivers';

/** How messages name the owner of a record. */
export function recordLabel(record: string): string {
  return record === DRIVERS_RECORD ? 'the driver tree' : `channel ${record}`;
}

export function historyKey(channel: string): string {
  return `${HISTORY_DIR}/${channel}.json`;
}

/** The kind a part belongs to: `bin/amd64` -> `bin`. */
export function kindOf(part: string): string {
  const i = part.indexOf('/');
  return i < 0 ? part : part.slice(0, i);
}

export type ParsedHistory = { ok: true; record: HistoryRecord } | { ok: false; reason: string };

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string')
  );
}

function isPartKeys(v: unknown): v is PartKeys {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isStringArray);
}

function entryProblem(e: unknown, i: number): string | undefined {
  const at = `entry ${i + 1}`;
  if (typeof e !== 'object' || e === null) return `${at} is not an object`;
  const x = e as Record<string, unknown>;
  if (typeof x.id !== 'number' || !Number.isInteger(x.id)) return `${at} has no whole-number id`;
  if (typeof x.date !== 'string' || Number.isNaN(Date.parse(x.date))) return `${at} has no date`;
  if (typeof x.command !== 'string') return `${at} has no command`;
  if (!isStringRecord(x.snapshot)) return `${at} has no snapshot of strings`;
  if (!isPartKeys(x.dropped)) return `${at} has no dropped lists`;
  if (typeof x.summary !== 'object' || x.summary === null) return `${at} has no summary`;
  for (const [k, s] of Object.entries(x.summary as Record<string, unknown>)) {
    const ks = s as Record<string, unknown> | null;
    if (!ks || !isStringArray(ks.added) || !isStringArray(ks.removed))
      return `${at}: summary of ${k} is malformed`;
  }
  return undefined;
}

/**
 * The record as stored; absent means empty. A damaged record is reported, never guessed at:
 * which keys it held back from deletion is unknown, so those keys must not be deleted by guess.
 */
export function parseHistory(bytes: Uint8Array | undefined, channel: string): ParsedHistory {
  if (!bytes) return { ok: true, record: { channel, entries: [] } };
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) return { ok: false, reason: 'no "entries" list' };
  for (const [i, e] of entries.entries()) {
    const problem = entryProblem(e, i);
    if (problem) return { ok: false, reason: problem };
  }
  for (let i = 1; i < entries.length; i++)
    if ((entries[i] as HistoryEntry).id <= (entries[i - 1] as HistoryEntry).id)
      return { ok: false, reason: `entry ${i + 1}'s id is not above the one before` };
  return { ok: true, record: { channel, entries: entries as HistoryEntry[] } };
}

export function renderHistory(record: HistoryRecord): string {
  return `${JSON.stringify({ channel: record.channel, entries: record.entries }, null, 1)}\n`;
}

function clone(record: HistoryRecord): HistoryRecord {
  return structuredClone(record);
}

function sameSnapshot(a: Snapshot, b: Snapshot): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

function hasDropped(e: HistoryEntry): boolean {
  return Object.values(e.dropped).some((l) => l.length > 0);
}

/**
 * Brings the record in line with what the tree has committed, for the parts `read` (read through
 * their pointers in this attempt):
 * - a part no entry knows yet gets the value read in every entry: nothing that writes it has run
 *   since history began, or it would be recorded;
 * - where the newest entry says otherwise, that entry came from a run that died after writing the
 *   history and before its pointers: its part becomes what is committed and its dropped keys for
 *   that part are forgotten (they leak; deleting a key a committed state names would break it).
 * A corrected entry that is then the same as the one before it, holding nothing back, goes.
 */
export function reconcileHistory(record: HistoryRecord, read: Snapshot): HistoryRecord {
  const out = clone(record);
  const entries = out.entries;
  const newest = entries.at(-1);
  if (!newest) return out;
  for (const [part, value] of Object.entries(read)) {
    if (entries.every((e) => e.snapshot[part] === undefined)) {
      for (const e of entries) e.snapshot[part] = value;
      continue;
    }
    if (newest.snapshot[part] !== value) {
      newest.snapshot[part] = value;
      newest.dropped[part] = [];
      newest.corrected = [...new Set([...(newest.corrected ?? []), part])].sort();
    }
  }
  const before = entries.at(-2);
  if (newest.corrected && before && sameSnapshot(newest.snapshot, before.snapshot) && !hasDropped(newest))
    entries.pop();
  return out;
}

/**
 * Parts the newest generation changed (those where it differs from the one before it; all of
 * them for a first one) that `read` does not cover. A run reads only the parts it touches, so
 * without reading these too a newest generation whose run died before its pointers would be
 * corrected only where this run happens to look, and stay half a phantom: naming states that
 * were never committed, and holding keys a later generation then does not hold again.
 */
export function unreadParts(record: HistoryRecord, read: Snapshot): string[] {
  const newest = record.entries.at(-1);
  if (!newest) return [];
  const before = record.entries.at(-2);
  return Object.keys(newest.snapshot)
    .filter((p) => read[p] === undefined && (!before || before.snapshot[p] !== newest.snapshot[p]))
    .sort();
}

export interface RunRecord {
  date: string;
  command: string;
  /** Pointer documents as this run read them (after which it built its own). */
  read: Snapshot;
  /** Pointer documents this run writes, for the parts it changes. */
  written: Snapshot;
  summary: Record<string, KindSummary>;
  /** Keys each changed part stops naming. */
  dropped: PartKeys;
  /** Keys the new state names again: this run's outputs and what a rollback puts back. */
  revived: ReadonlySet<string>;
  /**
   * Outputs that are copies of what this run replaces (a driver version json kept by content):
   * only the generation before names them, so writing them does not name them again; they are
   * in `dropped` like the rest of that generation's keys.
   */
  preserved?: ReadonlySet<string>;
  restored?: number;
}

export interface Recorded {
  record: HistoryRecord;
  /** Keys no kept generation names any more: hand them to the garbage scheduler. */
  released: string[];
}

function nonEmpty(s: Snapshot): boolean {
  return Object.values(s).some((v) => v !== '');
}

/**
 * Pure: reconciles the record with what the run read, appends the run's generation (parts it did
 * not touch carried forward), keeps the newest `generations + 1` entries (the current state and
 * `generations` back) and releases what only the dropped generations named.
 */
export function recordRun(record: HistoryRecord, run: RunRecord, generations: number): Recorded {
  const { preserved } = run;
  const revived: Pick<ReadonlySet<string>, 'has'> = preserved && preserved.size > 0
    ? { has: (k) => run.revived.has(k) && !preserved.has(k) }
    : run.revived;
  const out = reconcileHistory(record, run.read);
  const entries = out.entries;
  // History begins on a tree that already holds something: keep that state as the first generation.
  if (entries.length === 0 && nonEmpty(run.read))
    entries.push({
      id: 0,
      date: run.date,
      command: 'baseline',
      summary: {},
      snapshot: { ...run.read },
      dropped: {},
    });
  const last = entries.at(-1);
  const dropped: PartKeys = {};
  for (const [part, keys] of Object.entries(run.dropped)) {
    const kept = [...new Set(keys)].filter((k) => !revived.has(k)).sort();
    if (kept.length > 0) dropped[part] = kept;
  }
  const entry: HistoryEntry = {
    id: last ? last.id + 1 : 1,
    date: run.date,
    command: run.command,
    summary: run.summary,
    snapshot: { ...(last?.snapshot ?? {}), ...run.read, ...run.written },
    dropped,
    ...(run.restored !== undefined ? { restored: run.restored } : {}),
  };
  // A key named again is no longer garbage of any generation.
  for (const e of entries)
    for (const [part, keys] of Object.entries(e.dropped))
      e.dropped[part] = keys.filter((k) => !revived.has(k));
  entries.push(entry);

  const released = new Set<string>();
  const keep = Math.max(1, Math.floor(generations) + 1);
  while (entries.length > keep)
    for (const keys of Object.values(entries.shift()!.dropped)) for (const k of keys) released.add(k);
  // The oldest kept generation's dropped keys were needed only by the one before it, now gone.
  const oldest = entries[0]!;
  for (const keys of Object.values(oldest.dropped)) for (const k of keys) released.add(k);
  oldest.dropped = {};
  // A key another kept generation already holds back, or that goes now, need not be held twice.
  const held = new Set<string>();
  for (const e of entries)
    if (e !== entry) for (const keys of Object.values(e.dropped)) for (const k of keys) held.add(k);
  for (const [part, keys] of Object.entries(entry.dropped)) {
    const rest = keys.filter((k) => !held.has(k) && !released.has(k));
    if (rest.length > 0) entry.dropped[part] = rest;
    else delete entry.dropped[part];
  }
  for (const e of entries)
    for (const [part, keys] of Object.entries(e.dropped)) if (keys.length === 0) delete e.dropped[part];
  return { record: out, released: [...released].sort() };
}

/**
 * The generation `steps` back from the newest. Throws a message for the user when the record
 * does not reach that far.
 */
export function generationBack(record: HistoryRecord, steps: number): HistoryEntry {
  const n = record.entries.length;
  const who = recordLabel(record.channel);
  if (n === 0) throw new Error(`${who} has no history yet: nothing to roll back to`);
  const target = record.entries[n - 1 - steps];
  if (!target)
    throw new Error(
      `${who} keeps ${n - 1} earlier generation${n - 1 === 1 ? '' : 's'}; --steps ${steps} goes further back than that (rollback.generations in pkgpub.yaml sets how many are kept)`,
    );
  return target;
}

/** Every part any entry names, by kind. */
export function partsByKind(record: HistoryRecord): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const e of record.entries)
    for (const part of Object.keys(e.snapshot)) {
      const k = kindOf(part);
      if (!out.has(k)) out.set(k, new Set());
      out.get(k)!.add(part);
    }
  return new Map([...out].map(([k, s]) => [k, [...s].sort()]));
}
