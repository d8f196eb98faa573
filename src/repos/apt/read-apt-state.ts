import type { ResolvedConfig } from '../../config/resolve.js';
import { StorageError } from '../../errors.js';
import { sha256Hex } from '../../artifacts/checksums.js';
import type { ObjectStore } from '../../storage/object-store.js';
import { type AptState, distsPrefix, GENERATIONS_FILE, type Generation, packagesKey } from './build-apt.js';
import { pointerSigners } from '../tree-signature.js';
import { parsePackagesIndex } from './packages-index.js';

/**
 * Reads the published state back from the target, through its pointer: the Packages files
 * the current Release vouches for. A publish that died after writing Packages but before
 * Release leaves plain-named files ahead of the Release; those are ignored in favour of the
 * by-hash copies the Release names, so the next publish redoes the interrupted one.
 */
export async function readAptState(store: ObjectStore, cfg: ResolvedConfig): Promise<AptState> {
  const { release, inRelease } = await readPointer(store, cfg);
  return { ...(await readAptStateAt(store, cfg, release)), signedBy: await pointerSigners(inRelease) };
}

/**
 * The Release text the tree has committed ('' when there is none), as a history snapshot: apt
 * trusts InRelease first, so a publish that died between Release and InRelease has not landed.
 */
export async function readAptPointer(store: ObjectStore, cfg: ResolvedConfig): Promise<string> {
  return (await readPointer(store, cfg)).release;
}

async function readPointer(
  store: ObjectStore,
  cfg: ResolvedConfig,
): Promise<{ release: string; inRelease?: Uint8Array }> {
  const dists = distsPrefix(cfg);
  const inRelease = await store.get(`${dists}/InRelease`);
  const releaseBytes = inRelease ?? (await store.get(`${dists}/Release`));
  const releaseText = releaseBytes ? new TextDecoder().decode(releaseBytes) : '';
  return {
    release: aptSnapshotText(inRelease ? clearsignedBody(releaseText) : releaseText),
    ...(inRelease ? { inRelease } : {}),
  };
}

/**
 * One spelling of a Release text whether it was read from InRelease (where the last line break
 * belongs to the signature armour) or rendered: no trailing blanks, one final newline.
 */
export function aptSnapshotText(release: string): string {
  if (release.trim() === '') return '';
  return release.replace(/[ \t]+$/gm, '').replace(/\n*$/, '\n');
}

/**
 * The state a Release text vouches for: the Packages files it names, from their plain names when
 * they still match and from by-hash otherwise (an older generation's, for a rollback).
 */
export async function readAptStateAt(
  store: ObjectStore,
  cfg: ResolvedConfig,
  release: string,
): Promise<AptState> {
  const indexes = new Map<string, ReturnType<typeof parsePackagesIndex>>();
  const dists = distsPrefix(cfg);
  const committed = releaseSha256(release);
  for (const component of cfg.apt.components) {
    for (const arch of cfg.apt.architectures) {
      const key = packagesKey(cfg, component, arch);
      const rel = `${component}/binary-${arch}/Packages`;
      const want = committed.get(rel);
      if (!want) continue;
      let bytes = await store.get(key);
      if (!bytes || sha256Hex(bytes) !== want)
        bytes = await store.get(`${dists}/${component}/binary-${arch}/by-hash/SHA256/${want}`);
      if (!bytes || sha256Hex(bytes) !== want)
        throw new StorageError(
          `${key} in ${store.description} does not match its Release and no by-hash copy is left; republish with --force`,
        );
      try {
        indexes.set(
          `${component}/${arch}`,
          parsePackagesIndex(new TextDecoder('utf-8', { fatal: true }).decode(bytes)),
        );
      } catch (err) {
        throw new StorageError(
          `the published ${key} in ${store.description} cannot be read back: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
  }
  let generations: Generation[] = [];
  const gen = await store.get(`${dists}/${GENERATIONS_FILE}`);
  if (gen) {
    try {
      const parsed = JSON.parse(new TextDecoder().decode(gen)) as { generations?: Generation[] };
      generations = Array.isArray(parsed.generations) ? parsed.generations : [];
    } catch {
      // A damaged record only costs old by-hash files their cleanup; the indexes are still right.
      generations = [];
    }
  }
  return { indexes, generations, committed, release };
}

/** The signed text of a cleartext-signed message (no verification: apt does that; this only reads). */
export function clearsignedBody(text: string): string {
  const start = text.indexOf('\n\n', text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----'));
  const end = text.indexOf('\n-----BEGIN PGP SIGNATURE-----');
  if (start < 0 || end < 0) return '';
  return text
    .slice(start + 2, end)
    .split('\n')
    .map((l) => (l.startsWith('- ') ? l.slice(2) : l))
    .join('\n');
}

/** path -> sha256 from a Release file's SHA256 section. */
export function releaseSha256(release: string): Map<string, string> {
  const out = new Map<string, string>();
  let inSection = false;
  for (const line of release.split('\n')) {
    if (!line.startsWith(' ')) {
      inSection = line.startsWith('SHA256:');
      continue;
    }
    if (!inSection) continue;
    const [hash, , path] = line.trim().split(/\s+/);
    if (hash && path) out.set(path, hash);
  }
  return out;
}
