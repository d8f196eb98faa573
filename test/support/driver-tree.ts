import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

/**
 * Driver files as CI lays them out (`<root>/<driver_version>/<arch>/<name>.ko`), as small as a
 * driver can be: the reader only wants the ELF magic, so 20,000 of them are written in well under
 * a second. Names follow `falco_<target>_<kernelrelease>_<kernelversion>.ko`, one target per file.
 */
export function writeDrivers(root: string, version: string, names: string[], arch = 'x86_64'): void {
  const dir = join(root, version, arch);
  mkdirSync(dir, { recursive: true });
  for (const n of names) writeFileSync(join(dir, n), `\x7fELF ${version} ${arch} ${n}\n`, 'latin1');
}

/** `count` distinct driver file names; `tag` keeps the names of different writers apart. */
export function driverNames(tag: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `falco_${tag}n${i}_5.15.0-${i}-generic_1.ko`);
}

/** Read access to a published tree, folder or S3, independent of pkgpub's own store code. */
export interface TreeReader {
  readonly description: string;
  get(key: string): Promise<Buffer | undefined>;
  /** Every key below `prefix` (a folder, with its trailing slash) with its size. */
  sizes(prefix: string): Promise<Map<string, number>>;
}

export function folderTree(root: string): TreeReader {
  return {
    description: root,
    async get(key) {
      try {
        return await readFile(join(root, ...key.split('/')));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async sizes(prefix) {
      const out = new Map<string, number>();
      const base = join(root, ...prefix.split('/').filter(Boolean));
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(base, { recursive: true, withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return out;
        throw e;
      }
      for (const e of entries) {
        if (!e.isFile()) continue;
        const p = join(e.parentPath, e.name);
        out.set(relative(root, p).split(sep).join('/'), (await stat(p)).size);
      }
      return out;
    },
  };
}

export function s3Tree(endpoint: string, bucket: string, prefix: string): TreeReader {
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const full = (key: string) => `${prefix}/${key}`;
  return {
    description: `s3://${bucket}/${prefix}`,
    async get(key) {
      try {
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: full(key) }));
        return Buffer.from(await r.Body!.transformToByteArray());
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw e;
      }
    },
    async sizes(sub) {
      const out = new Map<string, number>();
      let token: string | undefined;
      do {
        const r = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: full(sub), ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) out.set(o.Key!.slice(prefix.length + 1), o.Size ?? 0);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return out;
    },
  };
}

export interface DriverDocEntry {
  lib: string;
  arch: string;
  name: string;
  sizebytes: number;
}

export async function getJson<T>(t: TreeReader, key: string): Promise<T | undefined> {
  const b = await t.get(key);
  return b === undefined ? undefined : (JSON.parse(b.toString('utf8')) as T);
}

/** The names in a folder's listing.json (folders without their slash), or undefined when it has none. */
export async function listingNames(t: TreeReader, folder: string): Promise<string[] | undefined> {
  const doc = await getJson<{ entries: { name: string }[] }>(t, `${folder}listing.json`);
  return doc?.entries.map((e) => e.name);
}

/**
 * What a driver tree promises its readers: every version `driver/site/index.json` lists has its
 * `driver/site/<v>.json`, and every driver that json names is there with its size. Returns the
 * listed versions and every broken promise, one line each.
 */
export async function driverTreeProblems(t: TreeReader): Promise<{
  versions: string[];
  docs: Map<string, DriverDocEntry[]>;
  problems: string[];
}> {
  const problems: string[] = [];
  const docs = new Map<string, DriverDocEntry[]>();
  const versions = await getJson<string[]>(t, 'driver/site/index.json');
  if (!versions) return { versions: [], docs, problems: ['driver/site/index.json is missing'] };
  for (const v of versions) {
    const doc = await getJson<{ drivers: DriverDocEntry[] }>(t, `driver/site/${v}.json`);
    if (!doc) {
      problems.push(`${v} is listed but driver/site/${v}.json is missing`);
      continue;
    }
    docs.set(v, doc.drivers);
    const present = await t.sizes(`driver/${v}/`);
    let missing = 0;
    let first = '';
    for (const d of doc.drivers) {
      const key = `driver/${d.lib}/${d.arch}/${d.name}`;
      if (d.lib !== v) problems.push(`driver/site/${v}.json names ${key} of another version`);
      else if (present.get(key) !== d.sizebytes) {
        missing++;
        first ||= `${key} (${present.has(key) ? `size ${present.get(key)}, index says ${d.sizebytes}` : 'absent'})`;
      }
    }
    if (missing > 0)
      problems.push(
        `${v}: ${missing} of ${doc.drivers.length} indexed drivers missing or wrong, e.g. ${first}`,
      );
  }
  return { versions, docs, problems };
}
