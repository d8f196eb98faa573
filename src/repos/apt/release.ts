import type { Digests } from '../../artifacts/checksums.js';
import type { ResolvedConfig } from '../../config/resolve.js';

export interface ReleaseIndex {
  /** Path relative to dists/<suite>/, e.g. main/binary-amd64/Packages.xz */
  path: string;
  digests: Digests;
}

/** RFC 2822 date in UTC, the form apt expects in Release (Date, Valid-Until). */
export function releaseDate(d: Date): string {
  return d.toUTCString().replace(/GMT$/, 'UTC');
}

/** The Release file: what apt verifies first and uses to check every index it downloads. */
export function renderRelease(cfg: ResolvedConfig, indexes: ReleaseIndex[], now: Date): string {
  const a = cfg.apt;
  const lines = [
    `Origin: ${cfg.origin}`,
    `Label: ${cfg.label}`,
    `Suite: ${a.suite}`,
    `Codename: ${a.codename}`,
    `Date: ${releaseDate(now)}`,
  ];
  if (a.validUntilDays)
    lines.push(`Valid-Until: ${releaseDate(new Date(now.getTime() + a.validUntilDays * 86_400_000))}`);
  lines.push(
    `Architectures: ${a.architectures.join(' ')}`,
    `Components: ${a.components.join(' ')}`,
    `Description: ${cfg.description}`,
    'Acquire-By-Hash: yes',
  );
  const sorted = [...indexes].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  const width = Math.max(...sorted.map((i) => String(i.digests.size).length), 1);
  for (const [field, algo] of [
    ['MD5Sum', 'md5'],
    ['SHA1', 'sha1'],
    ['SHA256', 'sha256'],
    ['SHA512', 'sha512'],
  ] as const) {
    lines.push(`${field}:`);
    for (const i of sorted)
      lines.push(` ${i.digests[algo]} ${String(i.digests.size).padStart(width)} ${i.path}`);
  }
  return `${lines.join('\n')}\n`;
}
