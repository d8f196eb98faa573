/**
 * Shared by the rpm tests: the fixture files, `rpm -qp` with a private db, and createrepo_c's
 * view of the same files (parsed from its XML with a few regexes: the shapes are fixed).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fixturesDir, scratchRoot } from '../support/paths.js';

export const rpmDir = join(fixturesDir, 'rpm');

export function rpmFixtures(): string[] {
  return readdirSync(rpmDir)
    .filter((f) => f.endsWith('.rpm'))
    .sort()
    .map((f) => join(rpmDir, f));
}

export function scratch(prefix: string): string {
  mkdirSync(scratchRoot, { recursive: true });
  return mkdtempSync(join(scratchRoot, prefix));
}

let privateHome: string | undefined;
/** rpm with its db and HOME in a scratch dir, so nothing lands in ~/.rpmdb. */
export function rpm(args: string[]): string {
  privateHome ??= scratch('rpm-home-');
  return execFileSync('rpm', ['--dbpath', join(privateHome, 'db'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, HOME: privateHome },
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

export function rpmQuery(file: string, queryformat: string): string {
  return rpm(['-qp', '--qf', queryformat, file]);
}

/** Field and record separators for queryformat output (no fixture text contains them). */
export const FS = '@@F@@';
export const RS = '@@R@@\n';

export function records(out: string): string[][] {
  return out
    .split(RS)
    .filter((r) => r !== '')
    .map((r) => r.split(FS));
}

export interface CrEntry {
  name: string;
  flags?: string;
  epoch?: string;
  ver?: string;
  rel?: string;
  pre?: string;
}

export interface CrPackage {
  name: string;
  arch: string;
  epoch: string;
  ver: string;
  rel: string;
  checksum: string;
  summary: string;
  description: string;
  packager: string;
  url: string;
  timeBuild: number;
  sizePackage: number;
  sizeInstalled: number;
  sizeArchive: number;
  href: string;
  license: string;
  vendor: string;
  group: string;
  buildhost: string;
  sourcerpm: string;
  headerStart: number;
  headerEnd: number;
  deps: Record<string, CrEntry[]>;
  files: { path: string; type: string }[];
  changelog: { author: string; date: number; text: string }[];
}

export function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([\w:]+)="([^"]*)"/g)) out[m[1]!] = unescapeXml(m[2]!);
  return out;
}

function text(block: string, el: string): string {
  const m = block.match(new RegExp(`<${el}(?: [^>]*)?>([\\s\\S]*?)</${el}>|<${el}(?: [^>]*)?/>`));
  return m?.[1] === undefined ? '' : unescapeXml(m[1]);
}

function attrsOf(block: string, el: string): Record<string, string> {
  const m = block.match(new RegExp(`<${el} [^>]*>`));
  return m ? attrs(m[0]) : {};
}

function gz(dir: string, kind: string): string {
  const f = readdirSync(join(dir, 'repodata')).find((n) => n.endsWith(`${kind}.xml.gz`));
  if (!f) throw new Error(`no ${kind}.xml.gz`);
  return gunzipSync(readFileSync(join(dir, 'repodata', f))).toString('utf8');
}

/** Runs createrepo_c on a copy of the given rpms and returns its packages keyed by file name. */
export function createrepo(files: string[]): Map<string, CrPackage> {
  const dir = scratch('createrepo-');
  for (const f of files) copyFileSync(f, join(dir, f.split('/').pop()!));
  execFileSync('createrepo_c', ['--quiet', '--no-database', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HOME: dir },
  });
  const out = new Map<string, CrPackage>();
  const byId = new Map<string, CrPackage>();
  for (const block of gz(dir, 'primary').split('<package type="rpm">').slice(1)) {
    const v = attrsOf(block, 'version');
    const time = attrsOf(block, 'time');
    const size = attrsOf(block, 'size');
    const range = attrsOf(block, 'rpm:header-range');
    const deps: Record<string, CrEntry[]> = {};
    for (const kind of [
      'provides',
      'requires',
      'conflicts',
      'obsoletes',
      'recommends',
      'suggests',
      'supplements',
      'enhances',
    ]) {
      const m = block.match(new RegExp(`<rpm:${kind}>([\\s\\S]*?)</rpm:${kind}>`));
      deps[kind] = m
        ? [...m[1]!.matchAll(/<rpm:entry [^>]*\/>/g)].map((e) => attrs(e[0]) as unknown as CrEntry)
        : [];
    }
    const pkg: CrPackage = {
      name: text(block, 'name'),
      arch: text(block, 'arch'),
      epoch: v['epoch']!,
      ver: v['ver']!,
      rel: v['rel']!,
      checksum: text(block, 'checksum'),
      summary: text(block, 'summary'),
      description: text(block, 'description'),
      packager: text(block, 'packager'),
      url: text(block, 'url'),
      timeBuild: Number(time['build']),
      sizePackage: Number(size['package']),
      sizeInstalled: Number(size['installed']),
      sizeArchive: Number(size['archive']),
      href: attrsOf(block, 'location')['href']!,
      license: text(block, 'rpm:license'),
      vendor: text(block, 'rpm:vendor'),
      group: text(block, 'rpm:group'),
      buildhost: text(block, 'rpm:buildhost'),
      sourcerpm: text(block, 'rpm:sourcerpm'),
      headerStart: Number(range['start']),
      headerEnd: Number(range['end']),
      deps,
      files: [],
      changelog: [],
    };
    out.set(pkg.href, pkg);
    byId.set(pkg.checksum, pkg);
  }
  for (const block of gz(dir, 'filelists').split('<package ').slice(1)) {
    const pkg = byId.get(attrs(block.slice(0, block.indexOf('>')))['pkgid']!)!;
    for (const m of block.matchAll(/<file( type="(\w+)")?>([^<]*)<\/file>/g))
      pkg.files.push({ path: unescapeXml(m[3]!), type: m[2] ?? 'file' });
  }
  for (const block of gz(dir, 'other').split('<package ').slice(1)) {
    const pkg = byId.get(attrs(block.slice(0, block.indexOf('>')))['pkgid']!)!;
    for (const m of block.matchAll(/<changelog ([^>]*)>([\s\S]*?)<\/changelog>/g)) {
      const a = attrs(m[1]!);
      pkg.changelog.push({ author: a['author']!, date: Number(a['date']), text: unescapeXml(m[2]!) });
    }
  }
  return out;
}
