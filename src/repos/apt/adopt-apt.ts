import type { ResolvedConfig } from '../../config/resolve.js';
import { signedBy } from '../../formats/pgp-signature-packet.js';
import type { RepoAdoption } from '../../model/adoption.js';
import type { OutputFile } from '../../model/tiers.js';
import type { Signer } from '../../signing/signer.js';
import type { ObjectInfo, ObjectStore } from '../../storage/object-store.js';
import { isListingPageName } from '../../site/listing-model.js';
import { signedReleaseFiles } from '../sign-outputs.js';
import { aptSnippets } from './apt-extras.js';
import { type AptState, buildApt, distsPrefix, GENERATIONS_FILE } from './build-apt.js';
import { aptSnapshotText, readAptState, releaseSha256 } from './read-apt-state.js';

/** apt's and yum's takeovers report the same things. */
export type AptAdoption = RepoAdoption;

/**
 * Pure: whether the committed repository is in the shape pkgpub writes, so a publish into it
 * changes only what it adds: every Packages with its `.gz` and `.xz`, pkgpub's by-hash record,
 * and InRelease signed by this key. Anything else (apt-ftparchive's `.bz2`, another key) is
 * taken over by rewriting the indexes.
 */
export function aptIsOwn(
  cfg: ResolvedConfig,
  state: AptState,
  inRelease: string | undefined,
  fingerprint: string,
): boolean {
  if (!inRelease || !signedBy(inRelease, fingerprint) || state.generations.length === 0) return false;
  for (const c of cfg.apt.components)
    for (const a of cfg.apt.architectures)
      for (const f of ['Packages', 'Packages.gz', 'Packages.xz'])
        if (!state.committed.has(`${c}/binary-${a}/${f}`)) return false;
  return true;
}

/**
 * Pure: the keys under dists/<suite>/ the rewritten repository no longer names: everything but its
 * own outputs, its pointers, the by-hash files of generations it keeps, and its record.
 */
export function retiredAptKeys(
  dists: string,
  present: string[],
  outputs: OutputFile[],
  state: AptState,
): string[] {
  const keep = new Set(outputs.map((o) => o.key));
  for (const n of ['Release', 'Release.gpg', 'InRelease', GENERATIONS_FILE]) keep.add(`${dists}/${n}`);
  for (const g of state.generations) for (const k of g.keys) keep.add(`${dists}/${k}`);
  return present.filter((k) => !keep.has(k)).sort();
}

/**
 * Pure: in a repository already in pkgpub's shape, the keys under dists/<suite>/ that nothing of it
 * names: another tool's forms (Packages.bz2, Contents-*, per-arch Release) left beside indexes a
 * publish rewrote before any adopt did (a publish on the foreign tree, or one that overtook the
 * adopt's first attempt). Whatever the committed Release names stays, and by-hash files always do:
 * the channel's history may hold them for a rollback.
 */
export function aptLeftovers(dists: string, present: string[], release: string): string[] {
  const keep = new Set([...releaseSha256(release).keys()].map((p) => `${dists}/${p}`));
  for (const n of ['Release', 'Release.gpg', 'InRelease', GENERATIONS_FILE]) keep.add(`${dists}/${n}`);
  return present
    .filter((k) => {
      const name = k.slice(k.lastIndexOf('/') + 1);
      return (
        !keep.has(k) && !k.includes('/by-hash/') && !isListingPageName(name) && !name.startsWith('.pkgpub')
      );
    })
    .sort();
}

/**
 * Takes over an apt repository another tool made: its Packages entries are kept exactly (no .deb
 * is read), the indexes are rewritten in pkgpub's forms (Packages, .gz, .xz, by-hash), Release is
 * re-signed by `signer`, and every other file under dists/<suite>/ becomes garbage. A repository
 * already in pkgpub's shape is left alone.
 */
export async function adoptApt(input: {
  store: ObjectStore;
  cfg: ResolvedConfig;
  now: Date;
  signer: Signer;
  /** The tree as the adopt listed it (else dists/<suite>/ is listed here). */
  listed?: readonly ObjectInfo[];
}): Promise<AptAdoption> {
  const { store, cfg, signer } = input;
  const dists = distsPrefix(cfg);
  const inReleaseBytes = await store.get(`${dists}/InRelease`);
  if (!inReleaseBytes && !(await store.head(`${dists}/Release`)))
    return {
      absent: true,
      own: false,
      packages: 0,
      retired: [],
      outputs: [],
      snapshot: { read: {}, written: {} },
    };
  const state = await readAptState(store, cfg);
  let packages = 0;
  for (const entries of state.indexes.values()) packages += entries.length;
  const inRelease = inReleaseBytes ? new TextDecoder().decode(inReleaseBytes) : undefined;
  const read = { apt: state.release };
  const present: string[] = [];
  for await (const o of input.listed ?? store.list(`${dists}/`))
    if (o.key.startsWith(`${dists}/`)) present.push(o.key);
  if (aptIsOwn(cfg, state, inRelease, signer.signingKeyFingerprint)) {
    const retired = aptLeftovers(dists, present, state.release);
    return { absent: false, own: true, packages, retired, outputs: [], snapshot: { read, written: {} } };
  }
  // With no committed digests the builder cannot call the rendered indexes unchanged.
  const apt = await buildApt({ cfg, state: { ...state, committed: new Map() }, debs: [], now: input.now });
  const outputs = [
    ...apt.files,
    ...(await signedReleaseFiles(dists, apt.release!, signer)),
    ...(await aptSnippets(cfg, true)),
  ];
  const retired = [...new Set([...apt.garbage, ...retiredAptKeys(dists, present, outputs, state)])].sort();
  const written = { apt: aptSnapshotText(apt.release!) };
  return { absent: false, own: false, packages, retired, outputs, snapshot: { read, written } };
}
