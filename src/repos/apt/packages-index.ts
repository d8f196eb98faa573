import type { DebArtifact, ControlParagraph } from '../../artifacts/types.js';
import { formatParagraph, getField, parseParagraphs } from '../../formats/deb822.js';
import { compareDebianVersions } from '../../formats/debian-version.js';
import { orderPackageFields } from './field-order.js';

/** One package as a Packages index knows it: the stanza plus the keys pkgpub merges by. */
export interface AptEntry {
  name: string;
  version: string;
  arch: string;
  /** Path relative to the repository root (the folder holding dists/). */
  filename: string;
  sha256: string;
  size: number;
  stanza: ControlParagraph;
}

/** The stanza apt-ftparchive would write for this deb at `filename`. */
export function entryFromDeb(deb: DebArtifact, filename: string): AptEntry {
  const generated = new Set(['filename', 'size', 'md5sum', 'sha1', 'sha256', 'sha512']);
  const fields = deb.control.filter((f) => !generated.has(f.name.toLowerCase()));
  fields.push(
    { name: 'Filename', value: filename },
    { name: 'Size', value: String(deb.digests.size) },
    { name: 'MD5sum', value: deb.digests.md5 },
    { name: 'SHA1', value: deb.digests.sha1 },
    { name: 'SHA256', value: deb.digests.sha256 },
    { name: 'SHA512', value: deb.digests.sha512 },
  );
  return {
    name: deb.name,
    version: deb.version,
    arch: deb.arch,
    filename,
    sha256: deb.digests.sha256,
    size: deb.digests.size,
    stanza: orderPackageFields(fields),
  };
}

/** Reads a published Packages file back; stanzas pkgpub cannot key are reported, not dropped silently. */
export function parsePackagesIndex(text: string): AptEntry[] {
  return parseParagraphs(text).map((stanza) => {
    const need = (n: string) => {
      const v = getField(stanza, n);
      if (v === undefined) throw new Error(`a stanza in Packages has no ${n} field`);
      return v;
    };
    return {
      name: need('Package'),
      version: need('Version'),
      arch: need('Architecture'),
      filename: need('Filename'),
      sha256: need('SHA256'),
      size: Number(need('Size')),
      stanza,
    };
  });
}

export function entryKey(e: { name: string; version: string; arch: string }): string {
  return `${e.name} ${e.version} ${e.arch}`;
}

/** Name, then Debian version order, then arch: the same set always renders to the same bytes. */
export function sortEntries(entries: AptEntry[]): AptEntry[] {
  return [...entries].sort(
    (a, b) =>
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
      compareDebianVersions(a.version, b.version) ||
      (a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0),
  );
}

export function renderPackagesIndex(entries: AptEntry[]): string {
  return sortEntries(entries)
    .map((e) => `${formatParagraph(e.stanza)}\n`)
    .join('');
}
