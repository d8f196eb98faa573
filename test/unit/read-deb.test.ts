import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDeb } from '../../src/artifacts/read-deb.js';
import type { Compression, DebArtifact } from '../../src/artifacts/types.js';
import { formatParagraph, getField, parseParagraphs } from '../../src/formats/deb822.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { peakArrayBufferGrowth } from './memory-probe.js';

const debDir = join(fixturesDir, 'deb');
const smallDebs = readdirSync(debDir)
  .filter((f) => f.endsWith('.deb'))
  .map((f) => join(debDir, f));
const bigDeb = join(debDir, 'big', readdirSync(join(debDir, 'big')).find((f) => f.endsWith('.deb'))!);
const allDebs = [...smallDebs, bigDeb];

const MiB = 1024 * 1024;

function dpkgField(file: string, field: string): string {
  return execFileSync('dpkg-deb', ['-f', file, field], { encoding: 'utf8' }).replace(/\n$/, '');
}

function digestTool(tool: string, file: string): string {
  return execFileSync(tool, [file], { encoding: 'utf8' }).split(' ')[0]!;
}

/** What binutils ar lists as the control and data members, by their suffix. */
function memberCompressions(file: string): { control: Compression; data: Compression } {
  const names = execFileSync('ar', ['t', file], { encoding: 'utf8' }).trim().split('\n');
  const bySuffix = (prefix: string): Compression => {
    const name = names.find((n) => n.startsWith(prefix))!;
    const suffix = name.slice(prefix.length);
    const map: Record<string, Compression> = { '': 'none', '.gz': 'gzip', '.xz': 'xz', '.zst': 'zstd' };
    if (!(suffix in map)) throw new Error(`unexpected member ${name}`);
    return map[suffix]!;
  };
  return { control: bySuffix('control.tar'), data: bySuffix('data.tar') };
}

describe('readDeb on dpkg-deb built packages', () => {
  const results = new Map<string, DebArtifact>();

  it('reads every fixture', async () => {
    expect(smallDebs.length).toBeGreaterThanOrEqual(9);
    for (const file of allDebs) results.set(file, await readDeb(file));
    expect(results.size).toBe(allDebs.length);
  });

  it('name, version and arch are what dpkg-deb -f says', () => {
    for (const file of allDebs) {
      const deb = results.get(file)!;
      expect(deb.kind).toBe('deb');
      expect(deb.path).toBe(file);
      expect(deb.fileName).toBe(basename(file));
      expect(deb.name).toBe(dpkgField(file, 'Package'));
      expect(deb.version).toBe(dpkgField(file, 'Version'));
      expect(deb.arch).toBe(dpkgField(file, 'Architecture'));
    }
    const versions = [...results.values()].map((d) => d.version);
    expect(versions).toEqual(expect.arrayContaining(['1:2.0-1', '1.0~rc1-1', '0.39.0+git1-1']));
    expect(new Set([...results.values()].map((d) => d.arch))).toEqual(new Set(['amd64', 'arm64', 'all']));
  });

  it('the control paragraph is the control file byte for byte, and every field matches dpkg-deb', () => {
    const scratch = mkdtempSync(join(scratchRoot, 'read-deb-'));
    allDebs.forEach((file, i) => {
      const deb = results.get(file)!;
      const dir = join(scratch, String(i));
      execFileSync('dpkg-deb', ['-e', file, dir]);
      expect(formatParagraph(deb.control)).toBe(readFileSync(join(dir, 'control'), 'utf8'));
      expect(formatParagraph(deb.control)).toBe(execFileSync('dpkg-deb', ['-f', file], { encoding: 'utf8' }));
      const infoFields = execFileSync('dpkg-deb', ['-I', file], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => /^ [A-Za-z][A-Za-z0-9-]*: /.test(l))
        .map((l) => l.slice(1, l.indexOf(':')));
      expect(deb.control.map((f) => f.name)).toEqual(infoFields);
      for (const f of deb.control) expect(f.value, `${file} ${f.name}`).toBe(dpkgField(file, f.name));
    });
  });

  it('the rich paragraph kept its relations, custom fields and multi-line description', () => {
    const multi = [...results.values()].find((d) => d.name === 'multiline')!;
    expect(getField(multi.control, 'Description')).toContain('\n .\n   An indented, verbatim line.\n .\n');
    expect(getField(multi.control, 'X-Custom-Field')).toBe('alpha\n beta continuation');
    const epoch = [...results.values()].find((d) => d.name === 'epochpkg')!;
    expect(getField(epoch.control, 'depends')).toBe(dpkgField(epoch.path, 'Depends'));
    expect(getField(epoch.control, 'Depends')).toContain('|');
  });

  it('size and every digest match coreutils and apt-ftparchive', () => {
    const packages = parseParagraphs(
      execFileSync('apt-ftparchive', ['packages', '.'], { cwd: debDir, encoding: 'utf8' }),
    );
    for (const file of allDebs) {
      const deb = results.get(file)!;
      expect(deb.size).toBe(statSync(file).size);
      expect(deb.digests.size).toBe(deb.size);
      expect(deb.digests.md5).toBe(digestTool('md5sum', file));
      expect(deb.digests.sha1).toBe(digestTool('sha1sum', file));
      expect(deb.digests.sha256).toBe(digestTool('sha256sum', file));
      expect(deb.digests.sha512).toBe(digestTool('sha512sum', file));
      expect(deb.sha256).toBe(deb.digests.sha256);
      const stanza = packages.find((p) => getField(p, 'Filename') === `./${relative(debDir, file)}`)!;
      expect(stanza, file).toBeDefined();
      expect(getField(stanza, 'Size')).toBe(String(deb.size));
      expect(getField(stanza, 'MD5sum')).toBe(deb.digests.md5);
      expect(getField(stanza, 'SHA1')).toBe(deb.digests.sha1);
      expect(getField(stanza, 'SHA256')).toBe(deb.digests.sha256);
      expect(getField(stanza, 'SHA512')).toBe(deb.digests.sha512);
    }
  });

  it('compression kinds are those of the members dpkg-deb wrote', () => {
    for (const file of allDebs) {
      const deb = results.get(file)!;
      const expected = memberCompressions(file);
      expect(deb.controlCompression, file).toBe(expected.control);
      expect(deb.dataCompression, file).toBe(expected.data);
    }
    // The fixtures were built with every -Z kind.
    expect(new Set([...results.values()].map((d) => d.dataCompression))).toEqual(
      new Set(['gzip', 'xz', 'zstd', 'none']),
    );
  });

  it('reading several files at once gives the same results', async () => {
    const parallel = await Promise.all(allDebs.map((f) => readDeb(f)));
    expect(parallel).toEqual(allDebs.map((f) => results.get(f)));
  });

  it('reads the ~20 MB deb with a small, bounded amount of live memory', async () => {
    expect(statSync(bigDeb).size).toBeGreaterThan(20 * MiB);
    const { result, peak, samples } = await peakArrayBufferGrowth(() => readDeb(bigDeb), 2);
    expect(result.sha256).toBe(digestTool('sha256sum', bigDeb));
    expect(samples).toBeGreaterThan(3);
    // A reader that kept the data member (or the file) would hold 20 MiB here; streaming holds a
    // few 256 KiB read chunks.
    expect(peak).toBeLessThan(4 * MiB);
  });
});
