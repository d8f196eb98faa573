import type { RpmDependency } from '../../artifacts/types.js';
import { isPrimaryFile } from '../../formats/rpm-package.js';
import { escapeXmlAttr as a, escapeXmlText as t } from '../../formats/xml.js';
import type { YumPackage } from './yum-package.js';

export const PRIMARY_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="';
export const PRIMARY_CLOSE = '</metadata>';

/** createrepo_c's section order inside <format>. */
const DEP_SECTIONS = [
  'provides',
  'requires',
  'conflicts',
  'obsoletes',
  'suggests',
  'enhances',
  'recommends',
  'supplements',
] as const;

function entry(d: RpmDependency): string {
  let s = `      <rpm:entry name="${a(d.name)}"`;
  if (d.flags) s += ` flags="${d.flags}"`;
  if (d.epoch !== undefined) s += ` epoch="${a(d.epoch)}"`;
  if (d.version !== undefined) s += ` ver="${a(d.version)}"`;
  if (d.release !== undefined) s += ` rel="${a(d.release)}"`;
  if (d.pre) s += ' pre="1"';
  return `${s}/>\n`;
}

/** One <package> element of primary.xml, laid out as createrepo_c's xml_dump_primary writes it. */
export function primaryPackageXml(p: YumPackage): string {
  const r = p.rpm;
  let s = '<package type="rpm">\n';
  s += `  <name>${t(r.name)}</name>\n`;
  s += `  <arch>${t(r.arch)}</arch>\n`;
  s += `  <version epoch="${r.epoch}" ver="${a(r.version)}" rel="${a(r.release)}"/>\n`;
  s += `  <checksum type="sha256" pkgid="YES">${p.pkgid}</checksum>\n`;
  s += `  <summary>${t(r.summary)}</summary>\n`;
  s += `  <description>${t(r.description)}</description>\n`;
  s += `  <packager>${t(r.packager)}</packager>\n`;
  s += `  <url>${t(r.url)}</url>\n`;
  s += `  <time file="${p.fileTime}" build="${r.buildTime}"/>\n`;
  s += `  <size package="${p.size}" installed="${r.installedSize}" archive="${r.archiveSize}"/>\n`;
  s += `  <location href="${a(p.href)}"/>\n`;
  s += '  <format>\n';
  s += `    <rpm:license>${t(r.license)}</rpm:license>\n`;
  s += `    <rpm:vendor>${t(r.vendor)}</rpm:vendor>\n`;
  s += `    <rpm:group>${t(r.group)}</rpm:group>\n`;
  s += `    <rpm:buildhost>${t(r.buildHost)}</rpm:buildhost>\n`;
  s += `    <rpm:sourcerpm>${t(r.sourceRpm)}</rpm:sourcerpm>\n`;
  s += `    <rpm:header-range start="${p.headerRange.start}" end="${p.headerRange.end}"/>\n`;
  for (const section of DEP_SECTIONS) {
    const deps = r[section];
    if (deps.length === 0) continue;
    s += `    <rpm:${section}>\n`;
    for (const d of deps) s += entry(d);
    s += `    </rpm:${section}>\n`;
  }
  for (const f of r.files) {
    if (!isPrimaryFile(f.path)) continue;
    s += f.type === 'file' ? '    <file>' : `    <file type="${f.type}">`;
    s += `${t(f.path)}</file>\n`;
  }
  s += '  </format>\n</package>\n';
  return s;
}
