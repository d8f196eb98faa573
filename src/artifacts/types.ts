import type { Digests, SizeAndSha256 } from './checksums.js';

/** A deb822 paragraph: field order and exact values (continuation lines included) preserved. */
export interface ControlField {
  name: string;
  /** Value as written after "Name:", with leading space of the first line trimmed; continuation lines kept byte-exact, joined with "\n". */
  value: string;
}
export type ControlParagraph = ControlField[];

export type Compression = 'gzip' | 'xz' | 'zstd' | 'none';

interface ArtifactBase {
  /** Path as given on the command line (or found in a scanned folder). */
  path: string;
  /** Base name of the file. */
  fileName: string;
  name: string;
  version: string;
  arch: string;
  size: number;
  sha256: string;
  /** size and sha256 always; md5/sha1/sha512 where the format needs them (deb: Packages lists all four). */
  digests: SizeAndSha256;
  /** sha256(file || trailer) for a detached signature, when the read was given a prehash template. */
  signatureDigest?: string;
}

export interface DebArtifact extends ArtifactBase {
  kind: 'deb';
  digests: Digests;
  /** The control paragraph exactly as in the package. */
  control: ControlParagraph;
  controlCompression: Compression;
  dataCompression: Compression;
}

/** rpm dependency flags reduced to what repodata shows. */
export interface RpmDependency {
  name: string;
  /** EQ, LT, LE, GT, GE, or undefined when unversioned. */
  flags?: 'EQ' | 'LT' | 'LE' | 'GT' | 'GE';
  epoch?: string;
  version?: string;
  release?: string;
  /** Requires only: a pre/post-install requirement (createrepo_c's pre="1"). */
  pre?: boolean;
}

export interface RpmFile {
  path: string;
  type: 'file' | 'dir' | 'ghost';
  /** %config */
  config?: boolean;
}

export interface RpmChangelogEntry {
  author: string;
  /** Seconds since the epoch. */
  date: number;
  text: string;
}

export interface RpmArtifact extends ArtifactBase {
  kind: 'rpm';
  /** For rpm, `version` is the VERSION tag alone; epoch and release are separate. */
  epoch: number;
  /** Whether the header has an EPOCH tag at all (`epoch` is 0 either way, as createrepo_c writes it). */
  epochPresent?: boolean;
  release: string;
  /** name-[epoch:]version-release.arch */
  nevra: string;
  /** True for a source rpm. */
  isSource: boolean;
  summary: string;
  description: string;
  packager: string;
  url: string;
  license: string;
  vendor: string;
  group: string;
  buildHost: string;
  sourceRpm: string;
  buildTime: number;
  /** Sum of file sizes as installed (SIZE / LONGSIZE tag). */
  installedSize: number;
  /** Payload size (ARCHIVESIZE / LONGARCHIVESIZE), 0 if absent. */
  archiveSize: number;
  /** Byte range of the main header within the file, as createrepo_c's header-range. */
  headerRange: { start: number; end: number };
  /** sha256 of the main header: the package's identity across re-signing (signing never changes it). */
  headerSha256: string;
  provides: RpmDependency[];
  /**
   * As createrepo_c writes them into primary.xml: without rpmlib(...), without file requires the
   * package itself satisfies on primary paths, without requires identical to its own provides or
   * duplicates, only the highest libc.so.6 one (see formats/rpm-package.ts).
   */
  requires: RpmDependency[];
  conflicts: RpmDependency[];
  obsoletes: RpmDependency[];
  recommends: RpmDependency[];
  suggests: RpmDependency[];
  supplements: RpmDependency[];
  enhances: RpmDependency[];
  files: RpmFile[];
  changelog: RpmChangelogEntry[];
  /** Signature present in the signature header, and the signing key id (16 hex, lower case) when known. */
  signature: { signed: boolean; keyId?: string; algorithm?: string };
}

export interface TarballArtifact extends ArtifactBase {
  kind: 'tarball';
  /** `-static` builds (e.g. falco-0.39.0-static-x86_64.tar.gz). */
  static: boolean;
  /** Number of entries in the tar. */
  entries: number;
}

export interface DriverArtifact extends ArtifactBase {
  kind: 'driver';
  /** kmod for .ko, ebpf for .o */
  driverKind: 'kmod' | 'ebpf';
  target: string;
  kernelRelease: string;
  kernelVersion: string;
  /** From the folder <driver_version>/<arch>/ or a flag; `version` mirrors it. */
  driverVersion: string;
}

/**
 * An rpm as its headers describe it, its bytes not (yet) hashed: readRpmHeaders. Where the file's
 * digests are needed, the rpm is read in full (an RpmArtifact is also an RpmHeaders).
 */
export type RpmHeaders = Omit<RpmArtifact, 'sha256' | 'digests' | 'signatureDigest'> &
  Partial<Pick<RpmArtifact, 'sha256' | 'digests' | 'signatureDigest'>>;

export type Artifact = DebArtifact | RpmArtifact | TarballArtifact | DriverArtifact;
export type ArtifactKind = Artifact['kind'];
