import type { RpmHeaders } from '../../artifacts/types.js';

/**
 * An rpm as the repodata describes it: the header facts, plus what belongs to the file that is
 * actually published (after signing: its own sha256, size and header range).
 */
export interface YumPackage {
  rpm: RpmHeaders;
  /** sha256 of the published file: createrepo_c's pkgid. */
  pkgid: string;
  /** Size of the published file. */
  size: number;
  headerRange: { start: number; end: number };
  /** Relative to the rpm prefix (the repository's base URL). */
  href: string;
  /** Seconds since the epoch: createrepo_c puts the file's mtime here; pkgpub the publish time. */
  fileTime: number;
}

/** name-epoch:version-release.arch with the epoch always spelled out, as repodata compares them. */
export function nevraKey(p: {
  name: string;
  epoch: string | number;
  ver: string;
  rel: string;
  arch: string;
}): string {
  return `${p.name}-${p.epoch}:${p.ver}-${p.rel}.${p.arch}`;
}

export function nevraOf(rpm: RpmHeaders): string {
  return nevraKey({ name: rpm.name, epoch: rpm.epoch, ver: rpm.version, rel: rpm.release, arch: rpm.arch });
}
