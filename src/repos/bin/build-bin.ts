import type { TarballArtifact } from '../../artifacts/types.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ContentConflictError, PkgpubError } from '../../errors.js';
import { bytesFile, contentTypeFor, copiedFile, type StoredObject } from '../../model/output-file.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import { packageSigner } from '../../signing/multi-signer.js';
import type { Signer } from '../../signing/signer.js';
import { renderSha256Sums } from './sha256sums.js';

export const SUMS_FILE = 'SHA256SUMS';

/** What the target holds now: each arch folder's published SHA256SUMS (the record of its tarballs). */
export interface BinState {
  /** arch -> file name -> sha256. Arches without a SHA256SUMS yet are absent. */
  sums: Map<string, Map<string, string>>;
  /** arch -> the SHA256SUMS text read ('' where there is none): the channel history's snapshot. */
  texts?: Map<string, string>;
  /** arch -> key ids that signed its live SHA256SUMS.asc ([] for none); arches not read are absent. */
  signedBy?: Map<string, string[]>;
}

/** A tarball published in another channel of the tree: its SHA256SUMS line, its object and `.asc`. */
export interface PublishedTarball {
  arch: string;
  fileName: string;
  blob: StoredObject;
  signature?: StoredObject;
}

export interface BinBuildInput {
  cfg: ResolvedConfig;
  state: BinState;
  tarballs: TarballArtifact[];
  /** Published tarballs to drop (retention): by file name in their arch folder. */
  removals?: readonly { arch: string; file: string }[];
  /** Tarballs of another channel to carry over as they are (`pkgpub promote`). */
  published?: readonly PublishedTarball[];
  /** Replace a published tarball whose bytes differ. */
  force?: boolean;
  /** Unused today (SHA256SUMS carries no date); taken for the same shape as the other builders. */
  now?: Date;
}

export interface BinBuildResult {
  changes: ChangeSummary;
  changed: boolean;
  /** New tarballs: tier blob, immutable; their `.asc` come from blobSignatures. */
  blobs: OutputFile[];
  /** Published tarballs and their `.asc`, copied from the other channel. */
  copies: OutputFile[];
  /** `<arch>/SHA256SUMS` of every arch folder that changed, tier index; sign them with binSumsSignatures. */
  files: OutputFile[];
  /** Removed tarballs and their `.asc`: deleted once no SHA256SUMS has named them for the grace period. */
  garbage: string[];
}

export function binFolder(cfg: ResolvedConfig, arch: string): string {
  return `${cfg.prefixes.bin}/${arch}`;
}

export function sumsKey(cfg: ResolvedConfig, arch: string): string {
  return `${binFolder(cfg, arch)}/${SUMS_FILE}`;
}

/**
 * Pure: adds tarballs to their arch folders, drops removed ones, and rewrites those folders'
 * SHA256SUMS from the published one plus the new lines, so no published tarball is ever read again.
 */
export function buildBin(input: BinBuildInput): BinBuildResult {
  const { cfg, state } = input;
  const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
  const blobs: OutputFile[] = [];
  const sums = new Map<string, Map<string, string>>();
  const touched = new Set<string>();
  const copies: OutputFile[] = [];
  const inThisRun = new Map<string, { what: string; sha256: string }>();
  const garbage: string[] = [];
  const folderOf = (arch: string) => {
    let folder = sums.get(arch);
    if (!folder) {
      folder = new Map(state.sums.get(arch) ?? []);
      sums.set(arch, folder);
    }
    return folder;
  };

  /** Adds the line `sha256  fileName` to its arch folder unless it is there; false when it is. */
  const admit = (arch: string, fileName: string, sha256: string, what: string): boolean => {
    if (/[\n\r\\/]/.test(fileName))
      throw new PkgpubError('artifact', `${what}: a tarball name cannot hold a newline, backslash or slash`);
    const label = `${arch}/${fileName}`;
    const twin = inThisRun.get(label);
    if (twin) {
      if (twin.sha256 !== sha256)
        throw new ContentConflictError(`${what} and ${twin.what} both claim ${label} with different bytes`);
      return false;
    }
    inThisRun.set(label, { what, sha256 });
    const folder = folderOf(arch);
    const current = folder.get(fileName);
    if (current === sha256) {
      changes.unchanged.push(label);
      return false;
    }
    if (current !== undefined && !input.force)
      throw new ContentConflictError(
        `${what}: ${label} is already published with other bytes (sha256 ${current.slice(0, 12)}…); use --force to replace it`,
      );
    folder.set(fileName, sha256);
    touched.add(arch);
    changes.added.push(label);
    return true;
  };

  for (const t of input.tarballs) {
    if (!admit(t.arch, t.fileName, t.sha256, t.path)) continue;
    blobs.push({
      key: `${binFolder(cfg, t.arch)}/${t.fileName}`,
      tier: 'blob',
      body: { file: t.path, size: t.size },
      sha256: t.sha256,
      size: t.size,
      ...(t.digests.md5 ? { md5: t.digests.md5 } : {}),
      contentType: contentTypeFor(t.fileName),
      immutable: true,
    });
  }

  for (const p of input.published ?? []) {
    if (!admit(p.arch, p.fileName, p.blob.sha256, p.blob.key)) continue;
    const key = `${binFolder(cfg, p.arch)}/${p.fileName}`;
    copies.push(copiedFile(key, p.blob, true));
    if (p.signature) copies.push(copiedFile(`${key}.asc`, p.signature, false));
  }

  for (const r of input.removals ?? []) {
    const label = `${r.arch}/${r.file}`;
    const folder = folderOf(r.arch);
    // A tarball this very run adds is not the published one the removal was decided on.
    if (!folder.has(r.file) || inThisRun.has(label)) {
      changes.unchanged.push(`(no published tarball ${label})`);
      continue;
    }
    folder.delete(r.file);
    touched.add(r.arch);
    changes.removed.push(label);
    const key = `${binFolder(cfg, r.arch)}/${r.file}`;
    garbage.push(key, `${key}.asc`);
  }

  const files = [...touched]
    .sort()
    .map((arch) => bytesFile(sumsKey(cfg, arch), 'index', renderSha256Sums(sums.get(arch)!)));
  return { changes, changed: touched.size > 0, blobs, copies, files, garbage };
}

/**
 * `SHA256SUMS.asc` (armored detached signature) beside each SHA256SUMS of `files`, tier index.
 * `gpg --verify SHA256SUMS.asc SHA256SUMS` then `sha256sum -c SHA256SUMS` checks a download.
 * Signed by the package key alone, also during a key rotation: gpg exits 2 on a signature whose
 * key it lacks even beside a good one, and scripts check that status.
 */
export async function binSumsSignatures(files: OutputFile[], signer: Signer): Promise<OutputFile[]> {
  const out: OutputFile[] = [];
  for (const f of files) {
    if (!f.key.endsWith(`/${SUMS_FILE}`) || !('bytes' in f.body)) continue;
    out.push(bytesFile(`${f.key}.asc`, 'index', await packageSigner(signer).detachSignArmored(f.body.bytes)));
  }
  return out;
}
