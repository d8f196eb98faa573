import type { TarballArtifact } from '../../artifacts/types.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { ContentConflictError, PkgpubError } from '../../errors.js';
import { bytesFile, contentTypeFor } from '../../model/output-file.js';
import type { ChangeSummary, OutputFile } from '../../model/tiers.js';
import type { Signer } from '../../signing/signer.js';
import { renderSha256Sums } from './sha256sums.js';

export const SUMS_FILE = 'SHA256SUMS';

/** What the target holds now: each arch folder's published SHA256SUMS (the record of its tarballs). */
export interface BinState {
  /** arch -> file name -> sha256. Arches without a SHA256SUMS yet are absent. */
  sums: Map<string, Map<string, string>>;
  /** arch -> the SHA256SUMS text read ('' where there is none): the channel history's snapshot. */
  texts?: Map<string, string>;
}

export interface BinBuildInput {
  cfg: ResolvedConfig;
  state: BinState;
  tarballs: TarballArtifact[];
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
  /** `<arch>/SHA256SUMS` of every arch folder that changed, tier index; sign them with binSumsSignatures. */
  files: OutputFile[];
  /** Always empty: a tarball publish only adds. */
  garbage: string[];
}

export function binFolder(cfg: ResolvedConfig, arch: string): string {
  return `${cfg.prefixes.bin}/${arch}`;
}

export function sumsKey(cfg: ResolvedConfig, arch: string): string {
  return `${binFolder(cfg, arch)}/${SUMS_FILE}`;
}

/**
 * Pure: adds tarballs to their arch folders and rewrites those folders' SHA256SUMS from the
 * published one plus the new lines, so no published tarball is ever read again.
 */
export function buildBin(input: BinBuildInput): BinBuildResult {
  const { cfg, state } = input;
  const changes: ChangeSummary = { added: [], removed: [], unchanged: [] };
  const blobs: OutputFile[] = [];
  const sums = new Map<string, Map<string, string>>();
  const touched = new Set<string>();
  const inThisRun = new Map<string, TarballArtifact>();

  for (const t of input.tarballs) {
    if (/[\n\r\\/]/.test(t.fileName))
      throw new PkgpubError(
        'artifact',
        `${t.path}: a tarball name cannot hold a newline, backslash or slash`,
      );
    const label = `${t.arch}/${t.fileName}`;
    const twin = inThisRun.get(label);
    if (twin) {
      if (twin.sha256 !== t.sha256)
        throw new ContentConflictError(`${t.path} and ${twin.path} both claim ${label} with different bytes`);
      continue;
    }
    inThisRun.set(label, t);
    let folder = sums.get(t.arch);
    if (!folder) {
      folder = new Map(state.sums.get(t.arch) ?? []);
      sums.set(t.arch, folder);
    }
    const current = folder.get(t.fileName);
    if (current === t.sha256) {
      changes.unchanged.push(label);
      continue;
    }
    if (current !== undefined && !input.force)
      throw new ContentConflictError(
        `${t.path}: ${label} is already published with other bytes (sha256 ${current.slice(0, 12)}…); use --force to replace it`,
      );
    folder.set(t.fileName, t.sha256);
    touched.add(t.arch);
    changes.added.push(label);
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

  const files = [...touched]
    .sort()
    .map((arch) => bytesFile(sumsKey(cfg, arch), 'index', renderSha256Sums(sums.get(arch)!)));
  return { changes, changed: touched.size > 0, blobs, files, garbage: [] };
}

/**
 * `SHA256SUMS.asc` (armored detached signature) beside each SHA256SUMS of `files`, tier index.
 * `gpg --verify SHA256SUMS.asc SHA256SUMS` then `sha256sum -c SHA256SUMS` checks a download.
 */
export async function binSumsSignatures(files: OutputFile[], signer: Signer): Promise<OutputFile[]> {
  const out: OutputFile[] = [];
  for (const f of files) {
    if (!f.key.endsWith(`/${SUMS_FILE}`) || !('bytes' in f.body)) continue;
    out.push(bytesFile(`${f.key}.asc`, 'index', await signer.detachSignArmored(f.body.bytes)));
  }
  return out;
}
