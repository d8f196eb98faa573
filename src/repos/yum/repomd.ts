import { escapeXmlAttr, xmlElements } from '../../formats/xml.js';

/** One <data> entry of repomd.xml. */
export interface RepomdData {
  type: string;
  /** sha256 of the file as stored (compressed). */
  checksum: string;
  /** sha256 of the uncompressed content. */
  openChecksum: string;
  /** Relative to the repository root, e.g. repodata/<sha256>-primary.xml.gz. */
  href: string;
  timestamp: number;
  size: number;
  openSize: number;
}

export interface Repomd {
  revision: string;
  data: RepomdData[];
}

/** repomd.xml as createrepo_c lays it out (repomd.c), sha256 everywhere. */
export function renderRepomd(md: Repomd): string {
  let s =
    '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n';
  s += `  <revision>${escapeXmlAttr(md.revision)}</revision>\n`;
  for (const d of md.data) {
    s += `  <data type="${escapeXmlAttr(d.type)}">\n`;
    s += `    <checksum type="sha256">${d.checksum}</checksum>\n`;
    s += `    <open-checksum type="sha256">${d.openChecksum}</open-checksum>\n`;
    s += `    <location href="${escapeXmlAttr(d.href)}"/>\n`;
    s += `    <timestamp>${d.timestamp}</timestamp>\n`;
    s += `    <size>${d.size}</size>\n`;
    s += `    <open-size>${d.openSize}</open-size>\n`;
    s += '  </data>\n';
  }
  return `${s}</repomd>\n`;
}

/**
 * Reads back the entries pkgpub needs. Only sha256 checksums are accepted: anything else is a
 * repository another tool wrote, and pkgpub cannot vouch for what it names.
 */
export function parseRepomd(xml: string): Repomd {
  if (!/<repomd[\s>]/.test(xml)) throw new Error('not a repomd.xml document');
  const md: Repomd = { revision: '', data: [] };
  let cur: Partial<RepomdData> & { checksumType?: string } = {};
  const flush = () => {
    if (cur.type === undefined) return;
    if (!cur.href || !cur.checksum) throw new Error(`data entry "${cur.type}" has no location or checksum`);
    if (cur.checksumType !== 'sha256')
      throw new Error(`data entry "${cur.type}" uses a ${cur.checksumType} checksum, not sha256`);
    md.data.push({
      type: cur.type,
      checksum: cur.checksum,
      openChecksum: cur.openChecksum ?? '',
      href: cur.href,
      timestamp: cur.timestamp ?? 0,
      size: cur.size ?? 0,
      openSize: cur.openSize ?? 0,
    });
  };
  for (const e of xmlElements(xml)) {
    switch (e.name) {
      case 'revision':
        md.revision = e.text.trim();
        break;
      case 'data':
        flush();
        cur = { type: e.attrs.type ?? '' };
        break;
      case 'checksum':
        cur.checksum = e.text.trim();
        cur.checksumType = e.attrs.type;
        break;
      case 'open-checksum':
        cur.openChecksum = e.text.trim();
        break;
      case 'location':
        cur.href = e.attrs.href;
        break;
      case 'timestamp':
        cur.timestamp = Number(e.text.trim());
        break;
      case 'size':
        cur.size = Number(e.text.trim());
        break;
      case 'open-size':
        cur.openSize = Number(e.text.trim());
        break;
    }
  }
  flush();
  return md;
}
