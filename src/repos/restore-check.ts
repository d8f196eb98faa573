import { createHash } from 'node:crypto';
import { StorageError } from '../errors.js';
import { mapLimit } from '../map-limit.js';
import type { ObjectStore } from '../storage/object-store.js';

/** A blob a generation to be restored names, with the bytes it names. */
export interface NamedBlob {
  key: string;
  /** '' when the index that names it does not say. */
  sha256: string;
  size?: number;
  /** Its `.asc` must be there too. */
  asc: boolean;
}

async function sha256Of(store: ObjectStore, key: string): Promise<string | undefined> {
  const stream = await store.getStream(key);
  if (!stream) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Before a rollback names them again: every blob is still in the tree with the bytes the old
 * generation names (a blob published again with --force since, or an rpm re-signed in place,
 * would make clients fail the checksum), and its signature beside it. Only blobs the current
 * generation does not name are checked: those it names are what clients fetch today.
 */
export async function checkBlobs(
  store: ObjectStore,
  blobs: readonly NamedBlob[],
  what: string,
): Promise<void> {
  const problems = (
    await mapLimit(blobs, 8, async (b): Promise<string[]> => {
      const info = await store.head(b.key);
      if (!info) return [`${b.key} is gone`];
      if (b.size !== undefined && info.size !== b.size)
        return [`${b.key} has other bytes now (size ${info.size}, not ${b.size})`];
      // An adopted driver's index may not know its sha256 (adopt without --hash): presence and size only.
      if (b.sha256 === '') return [];
      const sha = info.sha256 ?? (await sha256Of(store, b.key));
      if (sha !== b.sha256) return [`${b.key} has other bytes now (replaced since that generation)`];
      if (b.asc && !(await store.head(`${b.key}.asc`))) return [`${b.key}.asc is gone`];
      return [];
    })
  ).flat();
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).join('; ');
  throw new StorageError(
    `cannot roll back ${what} in ${store.description}: ${problems.length} object${problems.length === 1 ? '' : 's'} that generation names cannot be served as it was: ${shown}${problems.length > 5 ? '; …' : ''}`,
  );
}
