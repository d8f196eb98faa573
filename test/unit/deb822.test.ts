import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ControlParagraph } from '../../src/artifacts/types.js';
import {
  Deb822Error,
  decodeUtf8,
  formatParagraph,
  formatParagraphs,
  getField,
  parseControl,
  parseParagraphs,
} from '../../src/formats/deb822.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

const debDir = join(fixturesDir, 'deb');
const debs = readdirSync(debDir)
  .filter((f) => f.endsWith('.deb'))
  .map((f) => join(debDir, f));

describe('deb822 against dpkg-deb', () => {
  it('round-trips every fixture control file byte for byte', () => {
    expect(debs.length).toBeGreaterThanOrEqual(9);
    const scratch = mkdtempSync(join(scratchRoot, 'deb822-'));
    for (const [i, deb] of debs.entries()) {
      const dir = join(scratch, String(i));
      execFileSync('dpkg-deb', ['-e', deb, dir]);
      const raw = readFileSync(join(dir, 'control'));
      const p = parseControl(raw);
      expect(formatParagraph(p)).toBe(raw.toString('utf8'));
      // dpkg-deb -f prints each field's value; multi-line values come back with their continuation lines.
      for (const f of p) {
        const value = execFileSync('dpkg-deb', ['-f', deb, f.name], { encoding: 'utf8' });
        expect(`${f.value}\n`, `${deb} ${f.name}`).toBe(value);
        expect(getField(p, f.name.toUpperCase())).toBe(f.value);
      }
    }
  });

  it('reads back a Packages file written by apt-ftparchive, byte for byte', () => {
    const text = execFileSync('apt-ftparchive', ['packages', '.'], { cwd: debDir, encoding: 'utf8' });
    const ps = parseParagraphs(text);
    // apt-ftparchive walks into big/ too.
    expect(ps.length).toBe(debs.length + readdirSync(join(debDir, 'big')).length);
    expect(formatParagraphs(ps)).toBe(text);
    const names = ps.map((p) => getField(p, 'package'));
    expect(names).toContain('falco');
    expect(names).toContain('multiline');
  });
});

describe('parseParagraphs details', () => {
  it('keeps continuation lines, " ." lines and indentation exactly', () => {
    const text = 'Package: a\nDescription: short\n long\n .\n   indented\n\tTabbed\nX-Empty:\n next\n';
    const [p] = parseParagraphs(text);
    expect(p).toEqual([
      { name: 'Package', value: 'a' },
      { name: 'Description', value: 'short\n long\n .\n   indented\n\tTabbed' },
      { name: 'X-Empty', value: '\n next' },
    ]);
    expect(formatParagraph(p!)).toBe(text);
  });

  it('strips exactly one space after the colon and keeps trailing blanks', () => {
    const [p] = parseParagraphs('A:  two\nB: trail  \nC:none\n');
    expect(p).toEqual([
      { name: 'A', value: ' two' },
      { name: 'B', value: 'trail  ' },
      { name: 'C', value: 'none' },
    ]);
  });

  it('splits paragraphs on blank and whitespace-only lines', () => {
    const ps = parseParagraphs('\n\nA: 1\nB: 2\n\n \nA: 3\n\t\nA: 4');
    expect(ps.map((p) => getField(p, 'a'))).toEqual(['1', '3', '4']);
  });

  it('refuses malformed input with the line number', () => {
    const cases: [string, RegExp][] = [
      [' leading continuation\n', /line 1: continuation line outside a field/],
      ['A: 1\nno colon here\n', /line 2: expected "Name: value"/],
      ['A: 1\na: 2\n', /line 2: duplicate field "a"/],
      ['#comment: x\nA: 1\n', /line 1: bad field name "#comment"/],
      ['A: 1\n-B: 2\n', /line 2: bad field name "-B"/],
      ['Bad Name: 1\n', /bad field name/],
      ['A: 1\n \n cont\n', /line 3: continuation line outside a field/],
    ];
    for (const [text, re] of cases) {
      expect(() => parseParagraphs(text), JSON.stringify(text)).toThrow(re);
      expect(() => parseParagraphs(text)).toThrow(Deb822Error);
    }
  });

  it('parseControl wants exactly one paragraph', () => {
    expect(() => parseControl('A: 1\n\nB: 2\n')).toThrow(/2 paragraphs/);
    expect(() => parseControl('\n\n')).toThrow(/no fields/);
    expect(parseControl('A: 1\n')).toEqual([{ name: 'A', value: '1' }]);
  });

  it('refuses non-UTF-8 bytes and says where', () => {
    const latin1 = Buffer.from('Package: a\nMaintainer: Ren\xe9 <r@x>\n', 'latin1');
    expect(() => parseControl(latin1)).toThrow(/not valid UTF-8 \(byte 0xe9 on line 2/);
    expect(() => decodeUtf8(Buffer.from([0x41, 0xc0, 0x80]))).toThrow(/byte 0xc0/); // overlong
    expect(() => decodeUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toThrow(/byte 0xed/); // surrogate
    expect(() => decodeUtf8(Buffer.from([0x41, 0xe2, 0x82]))).toThrow(/byte 0xe2/); // cut short
    expect(decodeUtf8(Buffer.from('Maintainer: René ✓\n'))).toBe('Maintainer: René ✓\n');
  });

  it('getField is case-insensitive and undefined when absent', () => {
    const p: ControlParagraph = [{ name: 'Multi-Arch', value: 'foreign' }];
    expect(getField(p, 'multi-arch')).toBe('foreign');
    expect(getField(p, 'MULTI-ARCH')).toBe('foreign');
    expect(getField(p, 'Package')).toBeUndefined();
  });

  it('format then parse gives the same paragraphs (property)', () => {
    const name = fc
      .stringMatching(/^[A-Za-z0-9][A-Za-z0-9!-9;-~]{0,20}$/)
      .filter((n) => !n.includes(':') && !n.startsWith('#') && !n.startsWith('-'));
    const firstLine = fc.stringMatching(/^[^\n]*$/).filter((s) => !/^[ \t]+$/.test(s) && !s.startsWith(' '));
    const contLine = fc.stringMatching(/^[ \t][^\n]*[^\s][^\n]*$/);
    const value = fc
      .tuple(firstLine, fc.array(contLine, { maxLength: 4 }))
      .map(([f, rest]) => [f, ...rest].join('\n'));
    const paragraph = fc
      .uniqueArray(fc.record({ name, value }), {
        minLength: 1,
        maxLength: 8,
        selector: (f) => f.name.toLowerCase(),
      })
      .map((fields) => fields as ControlParagraph);
    fc.assert(
      fc.property(fc.array(paragraph, { minLength: 1, maxLength: 4 }), (ps) => {
        const text = formatParagraphs(ps);
        expect(parseParagraphs(text)).toEqual(ps);
        expect(formatParagraphs(parseParagraphs(text))).toBe(text);
      }),
    );
  });
});
