/**
 * Deferred deletion. Objects no pointer reaches any more (old by-hash generations, old repodata,
 * removed packages) are not deleted by the publish that stops referencing them: a client or CDN
 * may still hold a pointer from just before it. They are recorded with the time they became
 * garbage, and a later publish deletes those older than the grace period, unless something
 * references them again in the meantime.
 */
export const GARBAGE_KEY = '.pkgpub-garbage.json';

export interface PendingGarbage {
  key: string;
  /** ISO time the key stopped being referenced. */
  since: string;
}

export function parsePendingGarbage(bytes: Uint8Array | undefined): PendingGarbage[] {
  if (!bytes) return [];
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { pending?: PendingGarbage[] };
    return Array.isArray(parsed.pending)
      ? parsed.pending.filter((p) => typeof p?.key === 'string' && typeof p.since === 'string')
      : [];
  } catch {
    // A damaged record costs only some cleanup; never a reason to fail a publish.
    return [];
  }
}

/** Pure: which keys to delete now, and what stays pending. */
export function scheduleGarbage(
  pending: PendingGarbage[],
  candidates: string[],
  referenced: ReadonlySet<string>,
  now: Date,
  graceMs: number,
): { deleteNow: string[]; pending: PendingGarbage[] } {
  const byKey = new Map<string, PendingGarbage>();
  for (const p of pending) if (!referenced.has(p.key)) byKey.set(p.key, p);
  for (const key of candidates)
    if (!referenced.has(key) && !byKey.has(key)) byKey.set(key, { key, since: now.toISOString() });
  const deleteNow: string[] = [];
  const keep: PendingGarbage[] = [];
  for (const p of byKey.values()) {
    if (now.getTime() - Date.parse(p.since) >= graceMs) deleteNow.push(p.key);
    else keep.push(p);
  }
  keep.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { deleteNow: deleteNow.sort(), pending: keep };
}

export function renderPendingGarbage(pending: PendingGarbage[]): string {
  return `${JSON.stringify({ pending }, null, 1)}\n`;
}
