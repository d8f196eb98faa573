import type { ControlParagraph } from '../../artifacts/types.js';

/**
 * The field order apt-ftparchive writes Packages stanzas in (apt's tagfile-order list, as
 * shipped with apt 2.6). Fields not listed keep their original relative order after these.
 */
const PACKAGE_ORDER = [
  'Package',
  'Package-Type',
  'Architecture',
  'Subarchitecture',
  'Version',
  'Revision',
  'Package-Revision',
  'Package_Revision',
  'Kernel-Version',
  'Built-Using',
  'Built-For-Profiles',
  'Auto-Built-Package',
  'Multi-Arch',
  'Status',
  'Priority',
  'Class',
  'Essential',
  'Installer-Menu-Item',
  'Section',
  'Source',
  'Origin',
  'Maintainer',
  'Original-Maintainer',
  'Bugs',
  'Config-Version',
  'Conffiles',
  'Triggers-Awaited',
  'Triggers-Pending',
  'Installed-Size',
  'Provides',
  'Pre-Depends',
  'Depends',
  'Recommends',
  'Recommended',
  'Suggests',
  'Optional',
  'Conflicts',
  'Breaks',
  'Replaces',
  'Enhances',
  'Filename',
  'MSDOS-Filename',
  'Size',
  'MD5sum',
  'SHA1',
  'SHA256',
  'SHA512',
  'Homepage',
  'Description',
  'Tag',
  'Task',
];
const RANK = new Map(PACKAGE_ORDER.map((f, i) => [f.toLowerCase(), i]));

export function orderPackageFields(p: ControlParagraph): ControlParagraph {
  const known = p.filter((f) => RANK.has(f.name.toLowerCase()));
  const rest = p.filter((f) => !RANK.has(f.name.toLowerCase()));
  known.sort((a, b) => RANK.get(a.name.toLowerCase())! - RANK.get(b.name.toLowerCase())!);
  return [...known, ...rest];
}
