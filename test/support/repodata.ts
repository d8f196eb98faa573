import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress as zstd } from 'fzstd';
import { xmlElements } from '../../src/formats/xml.js';

/** The three xml documents a repomd.xml names, decompressed. */
export async function readRepodata(
  repoDir: string,
): Promise<Record<'primary' | 'filelists' | 'other', string>> {
  const repomd = await readFile(join(repoDir, 'repodata', 'repomd.xml'), 'utf8');
  const out: Record<string, string> = {};
  for (const type of ['primary', 'filelists', 'other']) {
    const m = new RegExp(`<data type="${type}">[\\s\\S]*?<location href="([^"]+)"`).exec(repomd);
    if (!m) throw new Error(`repomd.xml has no ${type}`);
    const bytes = await readFile(join(repoDir, m[1]!));
    const plain = m[1]!.endsWith('.gz') ? gunzipSync(bytes) : m[1]!.endsWith('.zst') ? zstd(bytes) : bytes;
    out[type] = Buffer.from(plain).toString('utf8');
  }
  return out as Record<'primary' | 'filelists' | 'other', string>;
}

const DEP_SECTIONS = new Set(
  ['provides', 'requires', 'conflicts', 'obsoletes', 'suggests', 'enhances', 'recommends', 'supplements'].map(
    (s) => `rpm:${s}`,
  ),
);

/**
 * Each <package> of a repodata document as comparable fields: every element with its
 * attributes and text in document order, except dependency entries, which become one sorted
 * set per section (createrepo_c and pkgpub may order them differently), and the file mtime.
 */
export function packagesOf(xml: string): Map<string, { fields: string[]; deps: Record<string, string[]> }> {
  const out = new Map<string, { fields: string[]; deps: Record<string, string[]> }>();
  let cur: { fields: string[]; deps: Record<string, string[]> } | undefined;
  let section: string | undefined;
  let id: string | undefined;
  const flush = () => {
    if (cur && id) out.set(id, cur);
  };
  for (const e of xmlElements(xml)) {
    if (e.name === 'package') {
      flush();
      cur = { fields: [], deps: {} };
      section = undefined;
      id = e.attrs.pkgid;
      cur.fields.push(JSON.stringify(['package', e.attrs]));
      continue;
    }
    if (!cur) continue;
    if (e.name === 'checksum' && e.attrs.pkgid === 'YES') id = e.text;
    if (DEP_SECTIONS.has(e.name)) {
      section = e.name;
      cur.deps[section] = [];
      continue;
    }
    if (e.name === 'rpm:entry' && section) {
      cur.deps[section]!.push(JSON.stringify(e.attrs));
      cur.deps[section]!.sort();
      continue;
    }
    section = undefined;
    const attrs = { ...e.attrs };
    if (e.name === 'time') delete attrs.file;
    cur.fields.push(JSON.stringify([e.name, attrs, e.text.trim()]));
  }
  flush();
  return out;
}

export async function rpmFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.rpm'))
    .sort()
    .map((f) => join(dir, f));
}
