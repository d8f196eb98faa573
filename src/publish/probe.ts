import { createHash } from 'node:crypto';
import { mapLimit } from '../map-limit.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Existing } from './plan.js';
import type { OutputFile } from './types.js';

/**
 * Finds which of the wanted keys the target already has, and with which sha256. Backends that
 * keep the digest as metadata answer from head(); otherwise the object is read and hashed once
 * (a folder, or an object written by another tool).
 */
export async function probeExisting(
  store: ObjectStore,
  outputs: OutputFile[],
  concurrency = 8,
): Promise<Map<string, Existing>> {
  const found = new Map<string, Existing>();
  await mapLimit(outputs, concurrency, async (o) => {
    const info = await store.head(o.key);
    if (!info) return;
    let sha256 = info.sha256;
    // A different size settles it without reading the bytes.
    if (!sha256 && info.size !== o.size) sha256 = `size:${info.size}`;
    if (!sha256) sha256 = await hashObject(store, o.key);
    if (sha256) found.set(o.key, { size: info.size, sha256 });
  });
  return found;
}

async function hashObject(store: ObjectStore, key: string): Promise<string | undefined> {
  const s = await store.getStream(key);
  if (!s) return undefined;
  const h = createHash('sha256');
  for await (const chunk of s) h.update(chunk as Buffer);
  return h.digest('hex');
}
