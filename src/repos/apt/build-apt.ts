import type { Digests } from '../../artifacts/checksums.js';
import { digestsOf, sha256Hex } from '../../artifacts/checksums.js';
import type { DebArtifact } from '../../artifacts/types.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ContentConflictError, PkgpubError } from '../../errors.js';
import { gzipAsync, xz } from '../../formats/compress.js';
import { bytesFile, contentTypeFor, copiedFile, type StoredObject } from '../../model/output-file.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import { type AptEntry, entryFromDeb, entryKey, renderPackagesIndex } from './packages-index.js';
import { type ReleaseIndex, renderRelease } from './release.js';

/** One publish's set of by-hash files; the newest N are kept so older InReleases still resolve. */
export interface Generation {
  date: string;
  /** Keys relative to dists/<suite>/. */
  keys: string[];
}

/** What the target holds now, read back from its own indexes (no local database). */
export interface AptState {
  /** Entries per `${component}/${arch}`, from the published Packages files. */
  indexes: Map<string, AptEntry[]>;
  generations: Generation[];
  /** sha256 of each index path (relative to dists/<suite>/) as the current Release lists it. */
  committed: Map<string, string>;
  /** The Release text read ('' when none): the channel history's snapshot of apt. */
  release: string;
  /** Key ids that signed the live InRelease ([] when there is none); unset when not read. */
  signedBy?: string[];
}

/** A deb published in another channel of the tree: its Packages entry, its pool object and `.asc`. */
export interface PublishedDeb {
  /** As the source's Packages lists it (Filename relative to the source's deb prefix). */
  entry: AptEntry;
  blob: StoredObject;
  signature?: StoredObject;
}

/**
 * `pkgpub remove NAME[=VERSION]` drops a name from apt and yum alike; retention removes one
 * version of one kind on one arch, and tarballs by their file name in that arch's folder.
 */
export interface AptRemoval {
  name: string;
  version?: string;
  arch?: string;
  /** Only this kind of repository; absent: apt and yum (never tarballs). */
  kind?: 'deb' | 'rpm' | 'tarball';
  /** Tarballs: the file name in the arch folder. */
  file?: string;
}

export interface AptBuildInput {
  cfg: ResolvedConfig;
  state: AptState;
  debs: DebArtifact[];
  removals?: AptRemoval[];
  /** Debs of another channel to carry over as they are (`pkgpub promote`). */
  published?: PublishedDeb[];
  /** Replace a published name/version/arch whose bytes differ. */
  force?: boolean;
  now: Date;
}

export interface AptBuildResult {
  changes: ChangeSummary;
  /** Nothing to write when false: the published repository already says exactly this. */
  changed: boolean;
  /** New .deb files (tier blob); their .asc signatures are added by the signing step. */
  blobs: OutputFile[];
  /** Published debs and their `.asc`, copied from the other channel (never signed again). */
  copies: OutputFile[];
  /** by-hash copies, Packages*, the generations record. */
  files: OutputFile[];
  /** Release text, to be signed into Release, Release.gpg and InRelease. */
  release?: string;
  /** Keys no pointer reaches once this publish lands (old by-hash generations, removed debs). */
  garbage: string[];
}

export const GENERATIONS_FILE = 'pkgpub-generations.json';
const BY_HASH_ALGOS = [
  ['SHA256', 'sha256'],
  ['SHA512', 'sha512'],
] as const;

export function distsPrefix(cfg: ResolvedConfig): string {
  return `${cfg.prefixes.deb}/dists/${cfg.apt.suite}`;
}

export function packagesKey(cfg: ResolvedConfig, component: string, arch: string): string {
  return `${distsPrefix(cfg)}/${component}/binary-${arch}/Packages`;
}

/**
 * Pure: merges new debs and removals into the published state and returns every object the
 * apt repository needs, or `changed: false` when the result is byte-identical to what is there.
 */
export async function buildApt(input: AptBuildInput): Promise<AptBuildResult> {
  const { cfg, state, now } = input;
  const a = cfg.apt;
  const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
  const blobs: OutputFile[] = [];
  const garbage: string[] = [];

  // component -> key -> entry. `all` packages sit in every arch file; the map folds them back into one.
  const byComponent = new Map<string, Map<string, AptEntry>>();
  for (const c of a.components) byComponent.set(c, new Map());
  for (const [where, entries] of state.indexes) {
    const component = where.split('/')[0]!;
    const map = byComponent.get(component) ?? new Map<string, AptEntry>();
    byComponent.set(component, map);
    for (const e of entries) map.set(entryKey(e), e);
  }
  const target = byComponent.get(a.component)!;
  const byFilename = new Map<string, AptEntry>();
  for (const map of byComponent.values()) for (const e of map.values()) byFilename.set(e.filename, e);

  const copies: OutputFile[] = [];
  /** Takes `entry` into the target component unless it is there already; false when it is. */
  const admit = (entry: AptEntry, what: string): boolean => {
    const key = entryKey(entry);
    const label = `${entry.name} ${entry.version} ${entry.arch}`;
    const current = target.get(key);
    const sameFile = byFilename.get(entry.filename);
    if (current && current.sha256 === entry.sha256 && current.filename === entry.filename) {
      changes.unchanged.push(label);
      return false;
    }
    if (!input.force) {
      if (current)
        throw new ContentConflictError(
          `${what}: ${label} is already published with other bytes (sha256 ${current.sha256.slice(0, 12)}…); use --force to replace it`,
        );
      if (sameFile && sameFile.sha256 !== entry.sha256)
        throw new ContentConflictError(
          `${what}: ${entry.filename} is already published with other bytes; use --force`,
        );
    }
    if (current && current.filename !== entry.filename)
      garbage.push(`${cfg.prefixes.deb}/${current.filename}`);
    target.set(key, entry);
    byFilename.set(entry.filename, entry);
    changes.added.push(label);
    return true;
  };
  const checkArch = (arch: string, what: string) => {
    if (arch !== 'all' && !a.architectures.includes(arch))
      throw new PkgpubError(
        'artifact',
        `${what}: architecture ${arch} is not in apt.architectures (${a.architectures.join(', ')})`,
      );
  };

  for (const deb of input.debs) {
    checkArch(deb.arch, deb.path);
    const entry = entryFromDeb(deb, `${a.pool}/${deb.fileName}`);
    if (!admit(entry, deb.path)) continue;
    blobs.push({
      key: `${cfg.prefixes.deb}/${entry.filename}`,
      tier: 'blob',
      body: { file: deb.path, size: deb.size },
      sha256: deb.sha256,
      size: deb.size,
      ...(deb.digests.md5 ? { md5: deb.digests.md5 } : {}),
      contentType: contentTypeFor(deb.fileName),
      immutable: true,
    });
  }

  for (const p of input.published ?? []) {
    checkArch(p.entry.arch, p.blob.key);
    const entry = rehomedEntry(p.entry, `${a.pool}/${baseName(p.entry.filename)}`);
    if (!admit(entry, p.blob.key)) continue;
    const key = `${cfg.prefixes.deb}/${entry.filename}`;
    copies.push(copiedFile(key, p.blob, true));
    // Not immutable, as a signature made by publish is not: only the deb's bytes are the identity.
    if (p.signature) copies.push(copiedFile(`${key}.asc`, p.signature, false));
  }

  // Indexed once: a prune removes thousands of versions from a channel of thousands, and a scan of
  // every entry per removal (and per match, for the file's other users) grows with their product.
  const byName = new Map<string, { map: Map<string, AptEntry>; key: string; entry: AptEntry }[]>();
  const uses = new Map<string, number>();
  if (input.removals?.length)
    for (const map of byComponent.values())
      for (const [key, entry] of map) {
        const list = byName.get(entry.name);
        if (list) list.push({ map, key, entry });
        else byName.set(entry.name, [{ map, key, entry }]);
        uses.set(entry.filename, (uses.get(entry.filename) ?? 0) + 1);
      }
  for (const r of input.removals ?? []) {
    let matched = false;
    for (const { map, key, entry: e } of byName.get(r.name) ?? []) {
      if (map.get(key) !== e) continue;
      if ((r.version !== undefined && e.version !== r.version) || (r.arch !== undefined && e.arch !== r.arch))
        continue;
      map.delete(key);
      matched = true;
      changes.removed.push(`${e.name} ${e.version} ${e.arch}`);
      const left = uses.get(e.filename)! - 1;
      uses.set(e.filename, left);
      if (left === 0)
        garbage.push(`${cfg.prefixes.deb}/${e.filename}`, `${cfg.prefixes.deb}/${e.filename}.asc`);
    }
    if (!matched)
      changes.unchanged.push(`(no published package matches ${r.name}${r.version ? `=${r.version}` : ''})`);
  }

  const files: OutputFile[] = [];
  const indexes: ReleaseIndex[] = [];
  const byHashKeys: string[] = [];
  const dists = distsPrefix(cfg);
  const rendered: { dir: string; plain: Uint8Array }[] = [];
  for (const component of a.components) {
    const entries = [...(byComponent.get(component)?.values() ?? [])];
    for (const arch of a.architectures) {
      const text = renderPackagesIndex(entries.filter((e) => e.arch === arch || e.arch === 'all'));
      rendered.push({ dir: `${component}/binary-${arch}`, plain: new TextEncoder().encode(text) });
    }
  }
  // Nothing new and the Release already vouches for these very Packages files (and for their
  // compressed forms): decided before compressing, which is most of what a no-op publish costs.
  const vouched = (dir: string, plain: Uint8Array) =>
    state.committed.get(`${dir}/Packages`) === sha256Hex(plain) &&
    state.committed.has(`${dir}/Packages.gz`) &&
    state.committed.has(`${dir}/Packages.xz`);
  const nothingNew = blobs.length === 0 && copies.length === 0;
  if (nothingNew && rendered.every((r) => vouched(r.dir, r.plain)))
    return { changes, changed: false, blobs: [], copies: [], files: [], garbage: [] };

  // Every index compresses at once: gzip on libuv's pool, xz in its own process (or thread).
  const compressed = await Promise.all(
    rendered.map(async (r) => ({ ...r, forms: await Promise.all([gzipAsync(r.plain), xz(r.plain)]) })),
  );
  for (const { dir, plain, forms } of compressed) {
    const variants: [string, Uint8Array][] = [
      ['Packages', plain],
      ['Packages.gz', forms[0]],
      ['Packages.xz', forms[1]],
    ];
    for (const [name, bytes] of variants) {
      const digests: Digests = digestsOf(bytes);
      indexes.push({ path: `${dir}/${name}`, digests });
      files.push(bytesFile(`${dists}/${dir}/${name}`, 'index', bytes));
      for (const [algoDir, algo] of BY_HASH_ALGOS) {
        const rel = `${dir}/by-hash/${algoDir}/${digests[algo]}`;
        byHashKeys.push(rel);
        files.push({
          ...bytesFile(`${dists}/${rel}`, 'content-addressed', bytes),
          contentType: contentTypeFor(name),
        });
      }
    }
  }

  // Unchanged means: the Release already vouches for exactly these indexes and no blob is new.
  if (nothingNew && indexes.every((i) => state.committed.get(i.path) === i.digests.sha256)) {
    return { changes, changed: false, blobs: [], copies: [], files: [], garbage: [] };
  }

  const generations = [{ date: now.toISOString(), keys: byHashKeys }, ...state.generations].slice(
    0,
    a.byHashGenerations,
  );
  const kept = new Set(generations.flatMap((g) => g.keys));
  for (const old of state.generations.slice(a.byHashGenerations - 1)) {
    for (const k of old.keys) if (!kept.has(k)) garbage.push(`${dists}/${k}`);
  }
  files.push(
    bytesFile(`${dists}/${GENERATIONS_FILE}`, 'index', `${JSON.stringify({ generations }, null, 1)}\n`),
  );

  return {
    changes,
    changed: true,
    blobs,
    copies,
    files,
    release: renderRelease(cfg, indexes, now),
    garbage: [...new Set(garbage)].filter((k) => !kept.has(k.slice(dists.length + 1))),
  };
}

/**
 * The source channel's entry at its place in this channel's pool: every control field, size and
 * hash as published, only Filename rewritten (in place, so the stanza keeps its field order).
 */
export function rehomedEntry(entry: AptEntry, filename: string): AptEntry {
  return {
    ...entry,
    filename,
    stanza: entry.stanza.map((f) =>
      f.name.toLowerCase() === 'filename' ? { name: f.name, value: filename } : f,
    ),
  };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
