/**
 * Architecture names as they appear in tarball and driver file names. Falco's own names are the
 * kernel's (x86_64, aarch64); Debian spellings (amd64, arm64) are accepted and folded onto them so
 * the bin and driver trees only ever have one folder per machine.
 */
const CANONICAL: Readonly<Record<string, string>> = {
  x86_64: 'x86_64',
  amd64: 'x86_64',
  aarch64: 'aarch64',
  arm64: 'aarch64',
};

/** Names that may end a tarball's file name; anything else there means the name is not ours to parse. */
const TARBALL_ARCHES = new Set([
  ...Object.keys(CANONICAL),
  'noarch',
  'all',
  'i386',
  'i686',
  'armhf',
  'armv7hl',
  'ppc64le',
  's390x',
  'riscv64',
]);

/** x86_64 or aarch64 for the two machines drivers are built for, else undefined. */
export function driverArch(name: string): string | undefined {
  return CANONICAL[name];
}

/** Canonical tarball arch (amd64/arm64 folded), or undefined when `name` is not an arch at all. */
export function tarballArch(name: string): string | undefined {
  if (!TARBALL_ARCHES.has(name)) return undefined;
  return CANONICAL[name] ?? name;
}

export function knownTarballArches(): string[] {
  return [...TARBALL_ARCHES];
}
