import { firstElement } from '../../formats/xml.js';
import { nevraKey } from './yum-package.js';

/**
 * Published repodata is merged as text: each <package> element is kept byte for byte and only
 * the few fields that identify it are parsed, so adding one rpm to a large repository costs a
 * scan of the xml, not a model of every package in it.
 */
export function splitPackages(xml: string, what: string): string[] {
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    const start = nextPackageTag(xml, pos);
    if (start < 0) return out;
    const end = xml.indexOf('</package>', start);
    if (end < 0) throw new Error(`${what}: unterminated <package> element`);
    out.push(`${xml.slice(start, end + 10)}\n`);
    pos = end + 10;
  }
}

function nextPackageTag(xml: string, from: number): number {
  let at = xml.indexOf('<package', from);
  while (at >= 0) {
    const c = xml[at + 8];
    if (c === ' ' || c === '>' || c === '\n' || c === '\t') return at;
    at = xml.indexOf('<package', at + 8);
  }
  return -1;
}

/** What identifies a package in primary.xml. */
export interface PrimaryFacts {
  name: string;
  arch: string;
  epoch: string;
  ver: string;
  rel: string;
  pkgid: string;
  href: string;
  nevra: string;
}

export function primaryFacts(chunk: string): PrimaryFacts {
  const field = (name: string) => {
    const e = firstElement(chunk, name);
    if (!e) throw new Error(`primary.xml package without <${name}>`);
    return e;
  };
  const name = field('name').text;
  const arch = field('arch').text;
  const v = field('version').attrs;
  const checksum = field('checksum');
  if (checksum.attrs.type !== 'sha256')
    throw new Error(`${name}: package checksum is ${checksum.attrs.type}, not sha256`);
  const href = field('location').attrs.href ?? '';
  const facts = {
    name,
    arch,
    epoch: v.epoch ?? '0',
    ver: v.ver ?? '',
    rel: v.rel ?? '',
    pkgid: checksum.text.trim(),
    href,
  };
  return { ...facts, nevra: nevraKey(facts) };
}

/** The pkgid of a filelists.xml or other.xml package element (an attribute of its start tag). */
export function chunkPkgid(chunk: string): string {
  const e = firstElement(chunk, 'package');
  const id = e?.attrs.pkgid;
  if (!id) throw new Error('package element without pkgid');
  return id;
}

/**
 * The published file's size and time from a primary.xml package element (`<size package>`,
 * `<time file>`: the publish time where pkgpub wrote it, the file's mtime where createrepo_c did).
 */
export function primaryFileFacts(chunk: string): { size: number; fileTime?: number } {
  const size = Number(firstElement(chunk, 'size')?.attrs.package);
  const time = Number(firstElement(chunk, 'time')?.attrs.file);
  return {
    size: Number.isFinite(size) && size >= 0 ? size : 0,
    ...(Number.isFinite(time) && time > 0 ? { fileTime: time * 1000 } : {}),
  };
}
