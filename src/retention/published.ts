import { parseTarballName } from '../artifacts/read-tarball.js';
import type { ResolvedConfig } from '../config/resolve.js';
import type { AptRemoval, AptState } from '../repos/apt/build-apt.js';
import { entryKey } from '../repos/apt/packages-index.js';
import { binFolder, type BinState } from '../repos/bin/build-bin.js';
import type { YumState } from '../repos/yum/build-yum.js';
import { primaryFileFacts } from '../repos/yum/repodata-chunks.js';
import type { PublishedVersion } from './decide.js';

/** What a folder listing says about one published file. */
export interface FileFacts {
  size: number;
  lastModified: Date;
}

/**
 * Pure: the versions a channel publishes, from the state its sections read back. Each carries the
 * removal that drops it from its own repository. Sizes come from the indexes (apt Size, yum
 * `<size package>`) or, for tarballs, the listing; times from yum's `<time file>` (the publish
 * time pkgpub writes there) and, for debs and tarballs, whose indexes carry none, the file's
 * last-modified time from a listing (`files`, by key; a file missing from it has no time).
 */
export function publishedVersions(
  cfg: ResolvedConfig,
  state: { apt: AptState; yum: YumState; bin: BinState },
  files: ReadonlyMap<string, FileFacts>,
): PublishedVersion<AptRemoval>[] {
  const out: PublishedVersion<AptRemoval>[] = [];
  const seen = new Set<string>();
  for (const entries of state.apt.indexes.values()) {
    for (const e of entries) {
      // `all` packages sit in every arch's index; they are one version.
      const k = entryKey(e);
      if (seen.has(k)) continue;
      seen.add(k);
      const f = files.get(`${cfg.prefixes.deb}/${e.filename}`);
      out.push({
        kind: 'deb',
        name: e.name,
        arch: e.arch,
        version: e.version,
        size: e.size,
        ...(f ? { time: f.lastModified.getTime() } : {}),
        ref: { kind: 'deb', name: e.name, version: e.version, arch: e.arch },
      });
    }
  }
  for (const e of state.yum.entries) {
    const evr = `${e.epoch}:${e.ver}-${e.rel}`;
    const facts = primaryFileFacts(e.primary);
    out.push({
      kind: 'rpm',
      name: e.name,
      arch: e.arch,
      version: evr,
      aliases: [e.ver, `${e.ver}-${e.rel}`],
      size: facts.size,
      ...(facts.fileTime !== undefined ? { time: facts.fileTime } : {}),
      ref: { kind: 'rpm', name: e.name, version: evr, arch: e.arch },
    });
  }
  for (const [arch, sums] of state.bin.sums) {
    for (const file of sums.keys()) {
      const parsed = parseTarballName(file);
      // A file whose name does not say its version cannot be ordered: it is never pruned.
      if (typeof parsed === 'string') continue;
      const f = files.get(`${binFolder(cfg, arch)}/${file}`);
      out.push({
        kind: 'tarball',
        name: parsed.name,
        arch,
        ...(parsed.static ? { flavour: 'static' } : {}),
        version: parsed.version,
        size: f?.size ?? 0,
        ...(f ? { time: f.lastModified.getTime() } : {}),
        ref: { kind: 'tarball', name: parsed.name, version: parsed.version, arch, file },
      });
    }
  }
  return out;
}

/** How a version is named in reports: `falco 0.39.0 amd64`, rpm without a zero epoch, tarballs by file. */
export function versionLabel(v: PublishedVersion<AptRemoval>): string {
  if (v.kind === 'tarball' && v.ref.file) return `${v.arch}/${v.ref.file}`;
  const version = v.kind === 'rpm' ? v.version.replace(/^0:/, '') : v.version;
  return [v.name, version, v.arch].filter((s) => s !== '').join(' ');
}
