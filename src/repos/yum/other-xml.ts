import { escapeXmlAttr as a, escapeXmlText as t } from '../../formats/xml.js';
import type { YumPackage } from './yum-package.js';

export const OTHER_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="';
export const OTHER_CLOSE = '</otherdata>';

/** createrepo_c's default --changelog-limit. */
export const CHANGELOG_LIMIT = 10;

/**
 * One <package> element of other.xml (createrepo_c's xml_dump_other): the newest
 * CHANGELOG_LIMIT changelog entries, oldest first, authors without trailing spaces.
 */
export function otherPackageXml(p: YumPackage): string {
  const r = p.rpm;
  let s = `<package pkgid="${p.pkgid}" name="${a(r.name)}" arch="${a(r.arch)}">\n`;
  s += `  <version epoch="${r.epoch}" ver="${a(r.version)}" rel="${a(r.release)}"/>\n`;
  const newest = r.changelog.slice(0, CHANGELOG_LIMIT).reverse();
  for (const c of newest) {
    s += `  <changelog author="${a(c.author.replace(/ +$/, ''))}" date="${c.date}">${t(c.text)}</changelog>\n`;
  }
  return `${s}</package>\n`;
}
