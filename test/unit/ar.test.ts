import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArError, type ArMemberHeader, ArParser, encodeAr } from '../../src/formats/ar.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

const debDir = join(fixturesDir, 'deb');
const debs = readdirSync(debDir)
  .filter((f) => f.endsWith('.deb'))
  .map((f) => join(debDir, f));

interface Parsed {
  headers: ArMemberHeader[];
  data: Map<string, Buffer>;
  ends: string[];
}

function parseInChunks(bytes: Uint8Array, chunkSize: number): Parsed {
  const headers: ArMemberHeader[] = [];
  const parts = new Map<string, Buffer[]>();
  const ends: string[] = [];
  const parser = new ArParser({
    onMember: (h) => {
      headers.push(h);
      parts.set(h.name, []);
    },
    onData: (h, chunk) => parts.get(h.name)!.push(Buffer.from(chunk)),
    onMemberEnd: (h) => ends.push(h.name),
  });
  for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize));
  parser.end();
  const data = new Map([...parts].map(([k, v]) => [k, Buffer.concat(v)]));
  return { headers, data, ends };
}

/** binutils' view: "rw-r--r-- 0/0    202 Nov 14 22:13 2023 control.tar.gz" */
function arTv(
  file: string,
): { mode: string; uid: number; gid: number; size: number; date: string; name: string }[] {
  return execFileSync('ar', ['tvO', file], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
  })
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(\S+) (\d+)\/(\d+)\s+(\d+) (.*) (\S+) 0x[0-9a-f]+$/.exec(line);
      if (!m) throw new Error(`unexpected ar output: ${line}`);
      return {
        mode: m[1]!,
        uid: Number(m[2]),
        gid: Number(m[3]),
        size: Number(m[4]),
        date: m[5]!,
        name: m[6]!,
      };
    });
}

/** ar's "%b %e %H:%M %Y" in UTC. */
function arDate(mtime: number): string {
  const d = new Date(mtime * 1000);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${hh}:${mm} ${d.getUTCFullYear()}`;
}

function arOffsets(file: string): Map<string, number> {
  // `ar tvO` appends each member's data offset in hex.
  const out = new Map<string, number>();
  for (const line of execFileSync('ar', ['tvO', file], { encoding: 'utf8' }).trim().split('\n')) {
    const m = /(\S+) 0x([0-9a-f]+)$/.exec(line)!;
    out.set(m[1]!, Number.parseInt(m[2]!, 16));
  }
  return out;
}

function modeString(mode: number): string {
  const bits = 'rwxrwxrwx';
  let s = '';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-';
  return s;
}

describe('ArParser on real dpkg-deb output', () => {
  it('found the fixture debs', () => {
    expect(debs.length).toBeGreaterThanOrEqual(9);
  });

  for (const chunkSize of [1, 7, 60, 61, 4096, 1 << 30]) {
    it(`reads every member as binutils ar does (chunks of ${chunkSize})`, () => {
      for (const file of debs) {
        const bytes = readFileSync(file);
        const parsed = parseInChunks(bytes, chunkSize);
        const listed = arTv(file);
        const offsets = arOffsets(file);
        expect(parsed.headers.map((h) => h.name)).toEqual(listed.map((l) => l.name));
        expect(parsed.ends).toEqual(listed.map((l) => l.name));
        parsed.headers.forEach((h, i) => {
          const l = listed[i]!;
          expect(h.size).toBe(l.size);
          expect(h.uid).toBe(l.uid);
          expect(h.gid).toBe(l.gid);
          expect(arDate(h.mtime)).toBe(l.date);
          expect(modeString(h.mode)).toBe(l.mode);
          expect(h.dataOffset).toBe(offsets.get(h.name));
          expect(
            parsed.data.get(h.name)!.equals(execFileSync('ar', ['p', file, h.name], { maxBuffer: 1 << 28 })),
          ).toBe(true);
        });
      }
    });
  }

  it('reports the GNU-style trailing slash and space padding stripped', () => {
    const archive = Buffer.concat([
      Buffer.from('!<arch>\n'),
      Buffer.from(
        `${'control.tar.gz/'.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${'3'.padEnd(10)}\`\n`,
      ),
      Buffer.from('abc\n'),
    ]);
    const parsed = parseInChunks(archive, 5);
    expect(parsed.headers.map((h) => h.name)).toEqual(['control.tar.gz']);
    expect(parsed.data.get('control.tar.gz')!.toString()).toBe('abc');
  });
});

describe('encodeAr', () => {
  it('writes archives binutils ar reads back byte for byte', () => {
    const dir = mkdtempSync(join(scratchRoot, 'ar-'));
    const members = [
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'odd', data: Buffer.from('12345') },
      { name: 'empty', data: new Uint8Array(0) },
      {
        name: 'bin',
        data: Buffer.from([0, 255, 10, 96, 33]),
        mode: 0o100755,
        uid: 1000,
        gid: 100,
        mtime: 1700000000,
      },
    ];
    const file = join(dir, 'x.a');
    writeFileSync(file, encodeAr(members));
    const listed = arTv(file);
    expect(listed.map((l) => l.name)).toEqual(members.map((m) => m.name));
    expect(listed[3]).toMatchObject({ mode: 'rwxr-xr-x', uid: 1000, gid: 100, size: 5 });
    for (const m of members) {
      expect(execFileSync('ar', ['p', file, m.name]).equals(Buffer.from(m.data))).toBe(true);
    }
  });

  it('round-trips through ArParser for any members and any chunking', () => {
    const member = fc.record({
      name: fc.stringMatching(/^[A-Za-z0-9_.+-]{1,15}$/).filter((n) => n !== '.' && n !== '..'),
      data: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(member, { maxLength: 6 }), fc.integer({ min: 1, max: 128 }), (members, chunk) => {
        const unique = [...new Map(members.map((m) => [m.name, m])).values()];
        const parsed = parseInChunks(encodeAr(unique), chunk);
        expect(parsed.headers.map((h) => h.name)).toEqual(unique.map((m) => m.name));
        for (const m of unique) expect(new Uint8Array(parsed.data.get(m.name)!)).toEqual(m.data);
      }),
    );
  });

  it('refuses names that do not fit the 16-byte field', () => {
    expect(() => encodeAr([{ name: 'a-very-long-member-name', data: new Uint8Array(0) }])).toThrow(
      /does not fit/,
    );
  });
});

describe('ArParser refuses bad archives', () => {
  const good = encodeAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar.gz', data: Buffer.from('abcde') },
  ]);

  function parseAll(bytes: Uint8Array): void {
    const p = new ArParser();
    p.push(bytes);
    p.end();
  }

  it('accepts the good archive used below', () => {
    expect(() => parseAll(good)).not.toThrow();
  });

  it('wrong magic', () => {
    expect(() => parseAll(Buffer.from('!<arch>Xjunk'))).toThrow(/wrong magic/);
    expect(() => parseAll(Buffer.from('PK\x03\x04 a zip file'))).toThrow(ArError);
  });

  it('empty input', () => {
    expect(() => parseAll(new Uint8Array(0))).toThrow(/empty/);
  });

  it('every truncation point', () => {
    for (let cut = 1; cut < good.length; cut++) {
      // Cutting exactly between two members leaves a valid (shorter) archive.
      if (cut === 8 || cut === 8 + 60 + 4) continue;
      expect(() => parseAll(good.subarray(0, cut)), `cut at ${cut}`).toThrow(/truncated/);
    }
  });

  it('member names that are paths', () => {
    for (const name of ['../evil', '..', 'a/b', '/etc/passwd', '.', 'x\\y']) {
      const bytes = encodeAr([{ name, data: Buffer.from('x') }]);
      expect(() => parseAll(bytes), name).toThrow(/unsafe member name/);
    }
  });

  it('a header without its terminator or with a non-numeric size', () => {
    const noFmag = Buffer.from(good);
    noFmag[8 + 58] = 0x41;
    expect(() => parseAll(noFmag)).toThrow(/terminator/);
    const badSize = Buffer.from(good);
    badSize.write('12x4      ', 8 + 48, 'latin1');
    expect(() => parseAll(badSize)).toThrow(/size field/);
  });

  it('keeps failing after a failure', () => {
    const p = new ArParser();
    expect(() => p.push(Buffer.from('not an archive'))).toThrow(ArError);
    expect(() => p.push(Buffer.from('!<arch>\n'))).toThrow(/wrong magic/);
    expect(() => p.end()).toThrow(/wrong magic/);
  });
});
