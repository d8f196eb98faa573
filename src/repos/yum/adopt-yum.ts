import type { ResolvedConfig } from '../../config/resolve.js';
import { signedBy } from '../../formats/pgp-signature-packet.js';
import type { RepoAdoption } from '../../model/adoption.js';
import type { Signer } from '../../signing/signer.js';
import type { ObjectInfo, ObjectStore } from '../../storage/object-store.js';
import { NO_CHANGES } from '../section.js';
import { buildYum, PKGPUB_DATA_TYPE, type YumState } from './build-yum.js';
import { readYumPointer, readYumState, readYumStateAt, repodataPrefix } from './read-yum-state.js';
import { repomdPointerFiles } from './sign-repomd.js';
import { yumRepoFile } from './yum-extras.js';

/** apt's and yum's takeovers report the same things. */
export type YumAdoption = RepoAdoption;

/**
 * Pure: whether repomd.xml is pkgpub's (it names pkgpub's record, whose header digests let a
 * republish of a re-signed rpm be recognised) and its signature is this key's.
 */
export function yumIsOwn(state: YumState, repomdAsc: string | undefined, fingerprint: string): boolean {
  return (
    repomdAsc !== undefined &&
    signedBy(repomdAsc, fingerprint) &&
    (state.repomd?.data.some((d) => d.type === PKGPUB_DATA_TYPE) ?? false)
  );
}

/**
 * Takes over a yum repository another tool made (createrepo_c): each package's primary,
 * filelists and other XML is kept as it is (no rpm is read), the repodata is rewritten in
 * pkgpub's forms with its record, repomd.xml is re-signed by `signer`, and every repodata file it
 * no longer names becomes garbage. The rpms keep the signatures they have.
 */
export async function adoptYum(input: {
  store: ObjectStore;
  cfg: ResolvedConfig;
  now: Date;
  signer: Signer;
  /** The tree as the adopt listed it (else the repodata folder is listed here). */
  listed?: readonly ObjectInfo[];
}): Promise<YumAdoption> {
  const { store, cfg, signer } = input;
  const repodata = `${repodataPrefix(cfg)}/`;
  const state = input.listed
    ? await readYumStateAt(
        store,
        cfg,
        await readYumPointer(store, cfg),
        input.listed.filter((o) => o.key.startsWith(repodata)).map((o) => o.key),
      )
    : await readYumState(store, cfg);
  if (!state.repomd)
    return {
      absent: true,
      own: false,
      packages: 0,
      retired: [],
      outputs: [],
      snapshot: { read: {}, written: {} },
    };
  const read = { yum: new TextDecoder().decode(state.repomdBytes) };
  const packages = state.entries.length;
  const asc = await store.get(`${repodataPrefix(cfg)}/repomd.xml.asc`);
  if (yumIsOwn(state, asc ? new TextDecoder().decode(asc) : undefined, signer.signingKeyFingerprint))
    return { absent: false, own: true, packages, retired: [], outputs: [], snapshot: { read, written: {} } };
  // Without the old repomd the builder neither calls this unchanged nor keeps its files reachable.
  const { repomd: _old, ...rest } = state;
  const yum = await buildYum({
    cfg,
    state: rest,
    selection: { changes: NO_CHANGES(), add: [], keep: state.entries, garbage: [] },
    prepared: [],
    now: input.now,
  });
  const outputs = [
    ...yum.files,
    ...(await repomdPointerFiles(repodataPrefix(cfg), yum.repomd!, signer)),
    await yumRepoFile(cfg, { signed: true, rpmsSigned: true }),
  ];
  const snapshot = { read, written: { yum: yum.repomd! } };
  return { absent: false, own: false, packages, retired: [...yum.garbage].sort(), outputs, snapshot };
}
