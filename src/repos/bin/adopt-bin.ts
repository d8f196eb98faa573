import { createHash } from 'node:crypto';
import { tarballArch } from '../../artifacts/arch-names.js';
import type { ResolvedConfig } from '../../config/resolve.js';
import { StorageError } from '../../errors.js';
import { mapLimit } from '../../map-limit.js';
import { bytesFile } from '../../model/output-file.js';
import type { Snapshot } from '../../model/history.js';
import type { OutputFile } from '../../model/tiers.js';
import type { Signer } from '../../signing/signer.js';
import type { ObjectInfo, ObjectStore } from '../../storage/object-store.js';
import { binSumsSignatures, SUMS_FILE, sumsKey } from './build-bin.js';
import { parseSha256Sums, renderSha256Sums } from './sha256sums.js';

/** The names a publish takes as tarballs (scan.ts), and the other compressions release tarballs use. */
const TARBALL = /\.(tar\.gz|tgz|tar\.xz|tar\.zst|tar\.bz2|tar)$/;

export interface BinFolderAdoption {
  arch: string;
  tarballs: number;
  /** Tarballs SHA256SUMS did not list, read and hashed by this run. */
  added: string[];
}

export interface BinAdoption {
  folders: BinFolderAdoption[];
  /** Bytes read to hash tarballs. */
  hashedBytes: number;
  outputs: OutputFile[];
  /** Each tarball folder's SHA256SUMS as read ('' for none) and as written: history parts `bin/<arch>`. */
  snapshot: { read: Snapshot; written: Snapshot };
}

/**
 * Pure: from a listing of the bin prefix, each arch folder's tarballs (`<bin>/<arch>/<name>`).
 * Files elsewhere, signatures and SHA256SUMS itself are not tarballs.
 */
export function tarballsByArch(cfg: ResolvedConfig, keys: { key: string; size: number }[]) {
  const out = new Map<string, { name: string; key: string; size: number }[]>();
  const root = `${cfg.prefixes.bin}/`;
  for (const { key, size } of keys) {
    if (!key.startsWith(root)) continue;
    const parts = key.slice(root.length).split('/');
    if (parts.length !== 2 || !TARBALL.test(parts[1]!)) continue;
    // A folder that is not an arch name is not one pkgpub publishes to (publish folds amd64 onto x86_64).
    if (tarballArch(parts[0]!) !== parts[0]) continue;
    const list = out.get(parts[0]!) ?? [];
    list.push({ name: parts[1]!, key, size });
    out.set(parts[0]!, list);
  }
  return out;
}

/**
 * A SHA256SUMS (+ .asc) for every arch folder whose tarballs it does not all list. SHA256SUMS is
 * the record a publish reads back for a folder, so it must list the tarballs already there; their
 * digests need their bytes, so each unlisted tarball is read once, in full (a folder that lists
 * them all reads nothing).
 */
export async function adoptBin(input: {
  store: ObjectStore;
  cfg: ResolvedConfig;
  signer: Signer;
  concurrency?: number;
  step?(line: string): void;
  /** The tree as the adopt listed it (else the bin prefix is listed here). */
  listed?: readonly ObjectInfo[];
}): Promise<BinAdoption> {
  const { store, cfg } = input;
  const listed: { key: string; size: number }[] = [];
  for await (const o of input.listed ?? store.list(`${cfg.prefixes.bin}/`))
    listed.push({ key: o.key, size: o.size });
  const folders: BinFolderAdoption[] = [];
  const files: OutputFile[] = [];
  let hashedBytes = 0;
  const snapshot: BinAdoption['snapshot'] = { read: {}, written: {} };
  for (const [arch, tarballs] of [...tarballsByArch(cfg, listed)].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const key = sumsKey(cfg, arch);
    const bytes = await store.get(key);
    let sums: Map<string, string>;
    try {
      const text = bytes ? new TextDecoder('utf-8', { fatal: true }).decode(bytes) : '';
      snapshot.read[`bin/${arch}`] = text;
      sums = bytes ? parseSha256Sums(text) : new Map();
    } catch (err) {
      throw new StorageError(`${key} in ${store.description} cannot be read: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const missing = tarballs.filter((t) => !sums.has(t.name));
    folders.push({ arch, tarballs: tarballs.length, added: missing.map((t) => t.name).sort() });
    if (missing.length === 0) continue;
    input.step?.(`tarballs ${arch}: reading ${missing.length} tarball(s) ${SUMS_FILE} does not list`);
    const digests = await mapLimit(missing, input.concurrency ?? 4, async (t) => {
      const s = await store.getStream(t.key);
      if (!s)
        throw new StorageError(`${t.key} vanished from ${store.description} while it was being adopted`);
      const h = createHash('sha256');
      for await (const chunk of s) h.update(chunk as Buffer);
      return h.digest('hex');
    });
    missing.forEach((t, i) => {
      sums.set(t.name, digests[i]!);
      hashedBytes += t.size;
    });
    const text = renderSha256Sums(sums);
    snapshot.written[`bin/${arch}`] = text;
    files.push(bytesFile(key, 'index', text));
  }
  const outputs = [...files, ...(await binSumsSignatures(files, input.signer))];
  return { folders, hashedBytes, outputs, snapshot };
}
