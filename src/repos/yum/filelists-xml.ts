import { escapeXmlAttr as a, escapeXmlText as t } from '../../formats/xml.js';
import type { YumPackage } from './yum-package.js';

export const FILELISTS_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="';
export const FILELISTS_CLOSE = '</filelists>';

/** One <package> element of filelists.xml (createrepo_c's xml_dump_filelists): every file, header order. */
export function filelistsPackageXml(p: YumPackage): string {
  const r = p.rpm;
  let s = `<package pkgid="${p.pkgid}" name="${a(r.name)}" arch="${a(r.arch)}">\n`;
  s += `  <version epoch="${r.epoch}" ver="${a(r.version)}" rel="${a(r.release)}"/>\n`;
  for (const f of r.files) {
    s += f.type === 'file' ? '  <file>' : `  <file type="${f.type}">`;
    s += `${t(f.path)}</file>\n`;
  }
  return `${s}</package>\n`;
}
