import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDeb } from '../../src/artifacts/read-deb.js';
import { ArtifactError } from '../../src/errors.js';
import { encodeAr } from '../../src/formats/ar.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { peakArrayBufferGrowth } from './memory-probe.js';

const debDir = join(fixturesDir, 'deb');
const fixture = (prefix: string): string =>
  join(debDir, readdirSync(debDir).find((f) => f.startsWith(prefix))!);
const gzipDeb = fixture('falco_0.39.0_amd64');
const xzDeb = fixture('epochpkg_');
const zstdDeb = fixture('tildepkg_');
const plainDeb = fixture('falco_0.38.1_amd64');

const MiB = 1024 * 1024;
mkdirSync(scratchRoot, { recursive: true });
const scratch = mkdtempSync(join(scratchRoot, 'bad-deb-'));
let counter = 0;

function write(name: string, bytes: Uint8Array): string {
  const file = join(scratch, `${counter++}-${name}`);
  writeFileSync(file, bytes);
  return file;
}

/** readDeb must fail with an ArtifactError that names the file; returns its reason. */
async function reasonFor(file: string): Promise<string> {
  let caught: unknown;
  try {
    await readDeb(file);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${file} should not be readable`).toBeInstanceOf(ArtifactError);
  const err = caught as ArtifactError;
  expect(err.code).toBe('artifact');
  expect(err.file).toBe(file);
  expect(err.message).toBe(`${file}: ${err.reason}`);
  return err.reason;
}

function member(deb: string, name: string): Buffer {
  return execFileSync('ar', ['p', deb, name], { maxBuffer: 64 * MiB });
}

/** ar member data offsets and sizes as binutils sees them. */
function layout(deb: string): { name: string; dataOffset: number; size: number }[] {
  return execFileSync('ar', ['tvO', deb], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^\S+ \d+\/\d+\s+(\d+) .* (\S+) 0x([0-9a-f]+)$/.exec(line)!;
      return { name: m[2]!, size: Number(m[1]), dataOffset: Number.parseInt(m[3]!, 16) };
    });
}

const debianBinary = Buffer.from('2.0\n');

/** A control.tar.gz made by GNU tar from the given files. */
function controlTarGz(files: Record<string, string | Buffer>): Buffer {
  const dir = mkdtempSync(join(scratch, 'ctl-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return execFileSync('tar', ['--owner=0', '--group=0', '-czf', '-', '-C', dir, '.']);
}

describe('readDeb refuses truncated packages', () => {
  it('at every offset of a small gzip deb', async () => {
    const bytes = readFileSync(gzipDeb);
    for (let cut = 1; cut < bytes.length; cut++) {
      const reason = await reasonFor(write('cut.deb', bytes.subarray(0, cut)));
      expect(reason, `cut at ${cut}`).toMatch(/truncated|missing (control|data)\.tar member|no members/);
    }
  });

  for (const deb of [xzDeb, zstdDeb, plainDeb]) {
    it(`inside headers, members and padding of ${deb.split('/').pop()}`, async () => {
      const bytes = readFileSync(deb);
      const cuts = new Set<number>([1, 4, 7, 8, 9]);
      for (const m of layout(deb)) {
        const header = m.dataOffset - 60;
        for (const c of [header, header + 1, header + 16, header + 48, header + 59, m.dataOffset])
          cuts.add(c);
        for (const c of [m.dataOffset + 1, m.dataOffset + (m.size >> 1), m.dataOffset + m.size - 1])
          cuts.add(c);
        cuts.add(m.dataOffset + m.size); // the padding byte (if any) is missing, or the next header is
      }
      cuts.delete(bytes.length);
      expect(cuts.size).toBeGreaterThan(25);
      for (const cut of [...cuts].filter((c) => c > 0 && c < bytes.length)) {
        const reason = await reasonFor(write('cut.deb', bytes.subarray(0, cut)));
        expect(reason, `cut at ${cut}`).toMatch(/truncated|missing (control|data)\.tar member|no members/);
      }
    });
  }
});

describe('readDeb refuses what is not a Debian package', () => {
  it('wrong magic', async () => {
    const bytes = Buffer.from(readFileSync(gzipDeb));
    bytes.write('!<arcX>\n', 0, 'latin1');
    expect(await reasonFor(write('magic.deb', bytes))).toMatch(/wrong magic/);
    expect(await reasonFor(write('gz.deb', gzipSync(Buffer.from('hello'))))).toMatch(/wrong magic/);
    expect(await reasonFor(write('text.deb', Buffer.from('Package: x\n')))).toMatch(/wrong magic/);
  });

  it('an empty file, a directory, a missing file', async () => {
    expect(await reasonFor(write('empty.deb', new Uint8Array(0)))).toMatch(/empty/);
    const dir = join(scratch, 'dir.deb');
    mkdirSync(dir);
    expect(await reasonFor(dir)).toMatch(/directory/);
    expect(await reasonFor(join(scratch, 'absent.deb'))).toMatch(/no such file/);
  });

  it('an ar archive with no members, or the wrong first member', async () => {
    expect(await reasonFor(write('nomembers.deb', encodeAr([])))).toMatch(/no members/);
    const data = member(gzipDeb, 'data.tar.gz');
    expect(await reasonFor(write('first.deb', encodeAr([{ name: 'data.tar.gz', data }])))).toMatch(
      /first member is "data.tar.gz"/,
    );
  });

  it('an unsupported debian-binary', async () => {
    const rest = [
      { name: 'control.tar.gz', data: member(gzipDeb, 'control.tar.gz') },
      { name: 'data.tar.gz', data: member(gzipDeb, 'data.tar.gz') },
    ];
    for (const version of ['3.0\n', '2.0', 'x', '']) {
      const file = write(
        'version.deb',
        encodeAr([{ name: 'debian-binary', data: Buffer.from(version) }, ...rest]),
      );
      expect(await reasonFor(file), JSON.stringify(version)).toMatch(/unsupported debian-binary/);
    }
    // deb(5): the minor version may grow and more lines may follow.
    const later = write(
      'later.deb',
      encodeAr([{ name: 'debian-binary', data: Buffer.from('2.1\nextra\n') }, ...rest]),
    );
    expect((await readDeb(later)).name).toBe('falco');
  });

  it('a member name with a path in it', async () => {
    for (const name of ['../evil', 'a/control.tar']) {
      const file = write(
        'evil.deb',
        encodeAr([
          { name: 'debian-binary', data: debianBinary },
          { name, data: Buffer.from('x') },
        ]),
      );
      expect(await reasonFor(file), name).toMatch(/unsafe member name/);
    }
  });

  it('missing control.tar or data.tar members, and unsupported compressions', async () => {
    const control = { name: 'control.tar.gz', data: member(gzipDeb, 'control.tar.gz') };
    const data = { name: 'data.tar.gz', data: member(gzipDeb, 'data.tar.gz') };
    const db = { name: 'debian-binary', data: debianBinary };
    expect(await reasonFor(write('nocontrol.deb', encodeAr([db, data])))).toMatch(
      /missing control\.tar member/,
    );
    expect(await reasonFor(write('nodata.deb', encodeAr([db, control])))).toMatch(/missing data\.tar member/);
    expect(await reasonFor(write('swapped.deb', encodeAr([db, data, control])))).toMatch(
      /missing control\.tar/,
    );
    expect(
      await reasonFor(write('bz2.deb', encodeAr([db, control, { name: 'data.tar.bz2', data: data.data }]))),
    ).toMatch(/unsupported data member "data.tar.bz2"/);
    expect(
      await reasonFor(
        write('ctlbz2.deb', encodeAr([db, { name: 'control.tar.bz2', data: control.data }, data])),
      ),
    ).toMatch(/unsupported control member/);
    // Members starting with "_" are reserved and skipped, as dpkg does.
    const extra = write(
      'underscore.deb',
      encodeAr([db, { name: '_gpgorigin', data: Buffer.from('sig') }, control, data]),
    );
    expect((await readDeb(extra)).version).toBe('0.39.0');
  });
});

describe('readDeb refuses bad control members', () => {
  const db = { name: 'debian-binary', data: debianBinary };
  const data = () => ({ name: 'data.tar.gz', data: member(gzipDeb, 'data.tar.gz') });

  it('a control.tar.gz bomb (200 MiB of zeros) fails fast with little memory', async () => {
    const bomb = gzipSync(Buffer.alloc(200 * MiB));
    const file = write('bomb.deb', encodeAr([db, { name: 'control.tar.gz', data: bomb }, data()]));
    const t0 = Date.now();
    expect(await reasonFor(file)).toMatch(/control\.tar\.gz: too large/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // Again, sampling live memory (the collections it forces make this run slower).
    const { result: reason, peak, samples } = await peakArrayBufferGrowth(() => reasonFor(file), 100);
    expect(reason).toMatch(/too large/);
    expect(samples).toBeGreaterThan(2);
    expect(peak).toBeLessThan(16 * MiB);
  });

  it('xz and zstd bombs too', async () => {
    const zeros = join(scratch, 'zeros');
    writeFileSync(zeros, Buffer.alloc(100 * MiB));
    for (const [name, tool] of [
      ['control.tar.xz', 'xz'],
      ['control.tar.zst', 'zstd'],
    ] as const) {
      const bomb = execFileSync(tool, ['-c', zeros], { maxBuffer: 64 * MiB });
      const file = write('bomb.deb', encodeAr([db, { name, data: bomb }, data()]));
      expect(await reasonFor(file)).toMatch(new RegExp(`${name.replaceAll('.', '\\.')}: too large`));
    }
  });

  it('non-UTF-8 control file, built by dpkg-deb itself', async () => {
    const root = mkdtempSync(join(scratch, 'latin1-'));
    mkdirSync(join(root, 'DEBIAN'));
    writeFileSync(
      join(root, 'DEBIAN', 'control'),
      Buffer.from(
        'Package: latin\nVersion: 1\nArchitecture: all\nMaintainer: Ren\xe9 <r@example.org>\nDescription: x\n',
        'latin1',
      ),
    );
    const deb = join(scratch, 'latin1.deb');
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', root, deb], { stdio: 'ignore' });
    expect(await reasonFor(deb)).toMatch(/bad control file: not valid UTF-8 \(byte 0xe9 on line 4/);
  });

  it('control.tar.gz without ./control, with a broken control, or corrupt', async () => {
    const cases: [Buffer, RegExp][] = [
      [controlTarGz({ md5sums: 'x\n' }), /has no \.\/control file/],
      [controlTarGz({ control: 'Version: 1\nArchitecture: all\n' }), /missing Package field/],
      [
        controlTarGz({ control: 'Package: a\nVersion: 1\nArchitecture: all\npackage: b\n' }),
        /duplicate field/,
      ],
      [controlTarGz({ control: ' Package: a\n' }), /continuation line outside a field/],
      [controlTarGz({ control: 'Package: a\n\nVersion: 1\n' }), /2 paragraphs/],
      [
        controlTarGz({ control: 'Package: a b\nVersion: 1\nArchitecture: all\n' }),
        /Package "a b" has blanks/,
      ],
      [Buffer.from('this is not gzip at all'), /control\.tar\.gz: corrupt gzip data/],
      [gzipSync(Buffer.from('not a tar archive, just text'.repeat(40))), /control\.tar\.gz: /],
    ];
    for (const [ctl, re] of cases) {
      const file = write('ctl.deb', encodeAr([db, { name: 'control.tar.gz', data: ctl }, data()]));
      expect(await reasonFor(file), String(re)).toMatch(re);
    }
  });

  it('random corruption gives a package or an ArtifactError, never anything else', async () => {
    const originals = [gzipDeb, xzDeb, zstdDeb, plainDeb].map((f) => readFileSync(f));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: originals.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        async (which, flips) => {
          const bytes = Buffer.from(originals[which]!);
          for (const [at, value] of flips) bytes[at % bytes.length] = value;
          const file = write('fuzz.deb', bytes);
          try {
            const deb = await readDeb(file);
            expect(deb.size).toBe(bytes.length);
          } catch (err) {
            expect(err).toBeInstanceOf(ArtifactError);
            expect((err as ArtifactError).file).toBe(file);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
