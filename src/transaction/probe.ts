import { createHash } from 'node:crypto';
import { mapLimit } from '../map-limit.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';
import type { Existing } from '../model/plan.js';
import type { OutputFile } from '../model/tiers.js';

/**
 * Finds which of the wanted keys the target already has, and with which sha256 (or a stand-in
 * that differs from the wanted one when the object certainly differs).
 *
 * Listings instead of one HEAD per key, and never more of a folder than its wanted keys need, so
 * adding one package costs the same number of requests whatever the repository holds (see
 * probeFolder). A listing has size and ETag but no metadata: a size that differs settles it, and so
 * does an MD5 match (the ETag of a single-part upload), and for mutable files an MD5 mismatch once
 * another ETag matched. What that leaves open (multipart ETags, file bodies without a known MD5,
 * SSE-KMS ETags, blobs that seem to differ) costs a HEAD of that key for the sha256 metadata, else a
 * read and hash of the object (a folder, or another tool's object).
 */
export async function probeExisting(
  store: ObjectStore,
  outputs: OutputFile[],
  concurrency = 8,
): Promise<Map<string, Existing>> {
  const byFolder = new Map<string, OutputFile[]>();
  for (const o of outputs) {
    const folder = folderOf(o.key);
    const group = byFolder.get(folder);
    if (group) group.push(o);
    else byFolder.set(folder, [o]);
  }
  const found = new Map<string, Existing>();
  const undecided: OutputFile[] = [];
  const fromListing: [OutputFile, ObjectInfo][] = [];
  await mapLimit([...byFolder], concurrency, async ([folder, wanted]) => {
    const { listed, unlisted } = await probeFolder(store, folder, wanted);
    for (const o of wanted) {
      const info = listed.get(o.key);
      if (info) fromListing.push([o, info]);
      else if (unlisted.has(o.key)) undecided.push(o);
    }
  });
  const md5s = new Map(fromListing.map(([o]) => [o, md5Of(o)]));
  // An ETag that equals an MD5 we computed shows this target's ETags are MD5s (not SSE-KMS ones),
  // so another one that differs means other bytes.
  const etagsAreMd5 = fromListing.some(([o, info]) => info.md5 !== undefined && info.md5 === md5s.get(o));
  for (const [o, info] of fromListing) {
    const sha256 = settle(o, info, md5s.get(o), etagsAreMd5);
    if (sha256) found.set(o.key, { size: info.size, sha256 });
    else undecided.push(o);
  }
  await mapLimit(undecided, concurrency, async (o) => {
    const info = await store.head(o.key);
    if (!info) return;
    const sha256 = settle(o, info, md5Of(o), false) ?? (await hashObject(store, o.key));
    if (sha256) found.set(o.key, { size: info.size, sha256 });
  });
  return found;
}

/** Stop reading a whole folder after this many entries and list the rest of the wanted keys by name. */
const FOLDER_BUDGET = 1000;

/**
 * What the folder holds of `wanted`, as `listed`; `unlisted` are keys no listing covered (left for
 * a HEAD). Wanted names group into clusters whose first name starts all the others (a .deb and its
 * .asc, Packages and Packages.gz): a listing limited to that name costs one request however full
 * the folder is (a flat pool of thousands of debs). A folder with several clusters is read whole,
 * but only up to FOLDER_BUDGET entries: clusters not complete by then are listed by name.
 */
async function probeFolder(
  store: ObjectStore,
  folder: string,
  wanted: OutputFile[],
): Promise<{ listed: Map<string, ObjectInfo>; unlisted: Set<string> }> {
  const listed = new Map<string, ObjectInfo>();
  const unlisted = new Set<string>();
  // A HEAD answers for one key in one request, with the sha256 a listing lacks.
  if (wanted.length === 1) {
    unlisted.add(wanted[0]!.key);
    return { listed, unlisted };
  }
  const skip = folder === '' ? 0 : folder.length + 1;
  const clusters: string[][] = [];
  for (const name of wanted.map((o) => o.key.slice(skip)).sort()) {
    const last = clusters.at(-1);
    if (last && name.startsWith(last[0]!)) last.push(name);
    else clusters.push([name]);
  }
  const keyOf = (name: string) => (folder === '' ? name : `${folder}/${name}`);
  let open = clusters;
  if (clusters.length > 1) {
    const missing = new Set(wanted.map((o) => o.key));
    let seen = 0;
    let complete = false;
    let ended = true;
    for await (const info of store.listFolder(folder)) {
      if (missing.delete(info.key)) listed.set(info.key, info);
      // Reading on costs a request per page of the folder; what is missing would cost a request
      // each cluster (a HEAD, or a listing by name): read on while that is not the cheaper.
      if (
        missing.size === 0 ||
        (++seen % FOLDER_BUDGET === 0 && seen / FOLDER_BUDGET >= openClusters(clusters, missing, keyOf))
      ) {
        ended = missing.size === 0;
        break;
      }
    }
    complete = ended;
    if (complete) return { listed, unlisted };
    open = clusters.filter((c) => c.some((n) => missing.has(keyOf(n))));
  }
  await Promise.all(
    open.map(async (names) => {
      if (names.length === 1) {
        unlisted.add(keyOf(names[0]!));
        return;
      }
      const want = new Set(names.map(keyOf));
      let seen = 0;
      for await (const info of store.listFolder(folder, names[0]!)) {
        if (want.delete(info.key)) listed.set(info.key, info);
        // Other names may start with a wanted one too; past the budget a HEAD each is cheaper.
        if (want.size === 0 || ++seen >= FOLDER_BUDGET) break;
      }
      if (seen >= FOLDER_BUDGET) for (const k of want) unlisted.add(k);
    }),
  );
  return { listed, unlisted };
}

function openClusters(clusters: string[][], missing: Set<string>, keyOf: (n: string) => string): number {
  let open = 0;
  for (const c of clusters) if (c.some((n) => missing.has(keyOf(n)))) open++;
  return open;
}

/** The sha256 to compare with when what the backend reported settles it, else undefined. */
function settle(
  o: OutputFile,
  info: ObjectInfo,
  md5: string | undefined,
  etagsAreMd5: boolean,
): string | undefined {
  if (info.sha256) return info.sha256;
  // Stand-ins, not digests, but certainly not the wanted sha256: the plan only compares.
  if (info.size !== o.size) return `size:${info.size}`;
  if (md5 && info.md5 === md5) return o.sha256;
  // A blob that seems to differ is a conflict, so only its sha256 metadata may say so.
  if (md5 && info.md5 && etagsAreMd5 && !o.immutable) return `md5:${info.md5}`;
  return undefined;
}

function md5Of(o: OutputFile): string | undefined {
  return o.md5 ?? ('bytes' in o.body ? createHash('md5').update(o.body.bytes).digest('hex') : undefined);
}

function folderOf(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash < 0 ? '' : key.slice(0, slash);
}

async function hashObject(store: ObjectStore, key: string): Promise<string | undefined> {
  const s = await store.getStream(key);
  if (!s) return undefined;
  const h = createHash('sha256');
  for await (const chunk of s) h.update(chunk as Buffer);
  return h.digest('hex');
}
