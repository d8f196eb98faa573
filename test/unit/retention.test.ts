import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { ConfigError } from '../../src/errors.js';
import { type BinState, buildBin } from '../../src/repos/bin/build-bin.js';
import {
  compareEvr,
  decideRetention,
  type PublishedVersion,
  type RetentionKind,
} from '../../src/retention/decide.js';
import {
  parseAge,
  parseKeep,
  parseProtect,
  parseSize,
  type RetentionPolicy,
} from '../../src/retention/policy.js';

const now = new Date('2026-12-01T00:00:00Z');
const DAY = 86_400_000;

/** One version; `daysAgo` sets its publish time, `size` its bytes (default 100). */
function v(
  kind: RetentionKind,
  name: string,
  version: string,
  opts: { arch?: string; size?: number; daysAgo?: number; aliases?: string[]; flavour?: string } = {},
): PublishedVersion<string> {
  const arch = opts.arch ?? (kind === 'driver' ? '' : 'amd64');
  return {
    kind,
    name,
    arch,
    version,
    size: opts.size ?? 100,
    ...(opts.daysAgo !== undefined ? { time: now.getTime() - opts.daysAgo * DAY } : {}),
    ...(opts.aliases ? { aliases: opts.aliases } : {}),
    ...(opts.flavour ? { flavour: opts.flavour } : {}),
    ref: `${kind} ${name} ${version} ${arch}${opts.flavour ? ` ${opts.flavour}` : ''}`,
  };
}

const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ protect: [], ...p });
const removed = (versions: PublishedVersion<string>[], p: Partial<RetentionPolicy>) =>
  decideRetention(versions, policy(p), now)
    .remove.map((r) => r.version.ref)
    .sort();

describe('retention: keep N per name and arch', () => {
  it('keeps the newest N of each name+arch and removes the rest, with the rule that removed them', () => {
    const versions = [
      v('deb', 'falco', '0.38.1'),
      v('deb', 'falco', '0.38.2'),
      v('deb', 'falco', '0.39.0'),
      v('deb', 'falco', '0.38.1', { arch: 'arm64' }),
      v('deb', 'falco', '0.39.0', { arch: 'arm64' }),
      v('deb', 'other', '1.0'),
    ];
    const d = decideRetention(versions, policy({ keep: 1 }), now);
    expect(d.remove.map((r) => [r.version.ref, r.reasons])).toEqual([
      ['deb falco 0.38.2 amd64', ['keep']],
      ['deb falco 0.38.1 amd64', ['keep']],
      ['deb falco 0.38.1 arm64', ['keep']],
    ]);
    expect(d.keep.map((k) => [k.version.ref, k.why])).toEqual([
      ['deb falco 0.39.0 amd64', 'newest'],
      ['deb falco 0.39.0 arm64', 'newest'],
      ['deb other 1.0 amd64', 'newest'],
    ]);
    expect(d.bytesFreed).toBe(300);
    expect(d.sizeBefore - d.sizeAfter).toBe(300);
    expect(removed(versions, { keep: 2 })).toEqual(['deb falco 0.38.1 amd64']);
    expect(removed(versions, { keep: 3 })).toEqual([]);
  });

  it('orders deb versions as dpkg does: epochs, ~ before the release, + after it, revisions', () => {
    const versions = ['1:0.1', '2.0', '2.0~rc1', '2.0+git1', '2.0-2', '1.9.10', '1.9.9'].map((x) =>
      v('deb', 'p', x),
    );
    // Newest to oldest: 1:0.1, 2.0+git1, 2.0-2, 2.0, 2.0~rc1, 1.9.10, 1.9.9.
    expect(removed(versions, { keep: 3 })).toEqual(
      ['2.0', '2.0~rc1', '1.9.10', '1.9.9'].map((x) => `deb p ${x} amd64`).sort(),
    );
    expect(removed(versions, { keep: 1 })).not.toContain('deb p 1:0.1 amd64');
    expect(removed(versions, { keep: 6 })).toEqual(['deb p 1.9.9 amd64']);
  });

  it('orders rpm versions by epoch, then version and release with rpmvercmp (~ and ^)', () => {
    expect(compareEvr('1:1.0-1', '0:9.9-1')).toBe(1);
    expect(compareEvr('0:1.0~rc1-1', '0:1.0-1')).toBe(-1);
    expect(compareEvr('0:1.0^git1-1', '0:1.0-1')).toBe(1);
    expect(compareEvr('0:1.0-10', '0:1.0-9')).toBe(1);
    const versions = ['1:0.5-1', '0:2.0-1', '0:2.0~rc1-1', '0:2.0^post-1', '0:1.10-1', '0:1.9-1'].map((x) =>
      v('rpm', 'tool', x, { arch: 'x86_64' }),
    );
    // Newest to oldest: 1:0.5-1, 2.0^post-1, 2.0-1, 2.0~rc1-1, 1.10-1, 1.9-1.
    expect(removed(versions, { keep: 3 })).toEqual(
      ['0:2.0~rc1-1', '0:1.10-1', '0:1.9-1'].map((x) => `rpm tool ${x} x86_64`).sort(),
    );
  });

  it('orders tarball versions in the Debian order and keeps static builds apart', () => {
    const versions = [
      v('tarball', 'falco', '0.40.0-rc1', { arch: 'x86_64' }),
      v('tarball', 'falco', '0.39.0', { arch: 'x86_64' }),
      v('tarball', 'falco', '0.40.0', { arch: 'x86_64' }),
      v('tarball', 'falco', '0.39.0', { arch: 'x86_64', flavour: 'static' }),
    ];
    expect(removed(versions, { keep: 2 })).toEqual(['tarball falco 0.39.0 x86_64']);
    // The only static build is the newest of its kind.
    expect(removed(versions, { keep: 1 })).not.toContain('tarball falco 0.39.0 x86_64 static');
  });

  it('never removes the newest version, whatever the rules say', () => {
    const versions = [
      v('deb', 'a', '1.0', { daysAgo: 400, size: 10_000 }),
      v('deb', 'a', '0.9', { daysAgo: 500 }),
    ];
    const d = decideRetention(versions, policy({ olderThanMs: DAY, maxSize: 1 }), now);
    expect(d.remove.map((r) => r.version.ref)).toEqual(['deb a 0.9 amd64']);
    expect(d.keep.map((k) => [k.version.ref, k.why])).toEqual([['deb a 1.0 amd64', 'newest']]);
    expect(d.overBy).toBe(10_000 - 1);
  });

  it('never removes protected versions and does not count them against N', () => {
    const versions = ['1.0', '1.1', '1.2', '1.3'].map((x) => v('deb', 'falco', x));
    const p = { keep: 2, protect: [{ name: 'falco', version: '1.0' }] };
    const d = decideRetention(versions, policy(p), now);
    expect(d.remove.map((r) => r.version.ref)).toEqual(['deb falco 1.1 amd64']);
    expect(d.keep.map((k) => [k.version.version, k.why])).toEqual([
      ['1.3', 'newest'],
      ['1.2', 'kept'],
      ['1.0', 'protected'],
    ]);
    // A protected newest version does not count either: the next two stay.
    const newestProtected = decideRetention(
      versions,
      policy({ keep: 2, protect: [{ name: 'falco', version: '1.3' }] }),
      now,
    );
    expect(newestProtected.remove.map((r) => r.version.version)).toEqual(['1.0']);
    // Another package's name does not protect this one.
    expect(removed(versions, { keep: 2, protect: [{ name: 'other', version: '1.0' }] })).toHaveLength(2);
  });

  it('protects an rpm by any spelling of its version', () => {
    const versions = ['0:1.0-1', '0:1.1-1', '0:1.2-1'].map((x) =>
      v('rpm', 'tool', x, { arch: 'x86_64', aliases: [x.slice(2, -2), x.slice(2)] }),
    );
    for (const spelled of ['1.0', '1.0-1', '0:1.0-1'])
      expect(removed(versions, { keep: 1, protect: [{ name: 'tool', version: spelled }] })).toEqual([
        'rpm tool 0:1.1-1 x86_64',
      ]);
  });
});

describe('retention: max size and older than', () => {
  it('removes the oldest versions first, across packages, until the channel fits', () => {
    const versions = [
      v('deb', 'a', '1', { daysAgo: 30, size: 100 }),
      v('deb', 'a', '2', { daysAgo: 10, size: 100 }),
      v('deb', 'a', '3', { daysAgo: 1, size: 100 }),
      v('rpm', 'b', '0:1-1', { arch: 'x86_64', daysAgo: 20, size: 100 }),
      v('rpm', 'b', '0:2-1', { arch: 'x86_64', daysAgo: 2, size: 100 }),
    ];
    const d = decideRetention(versions, policy({ maxSize: 300 }), now);
    expect(d.remove.map((r) => [r.version.ref, r.reasons])).toEqual([
      ['deb a 1 amd64', ['max-size']],
      ['rpm b 0:1-1 x86_64', ['max-size']],
    ]);
    expect(d.sizeAfter).toBe(300);
    expect(d.overBy).toBe(0);
    expect(removed(versions, { maxSize: 399 })).toEqual(['deb a 1 amd64', 'rpm b 0:1-1 x86_64']);
    expect(removed(versions, { maxSize: 400 })).toEqual(['deb a 1 amd64']);
    expect(removed(versions, { maxSize: 500 })).toEqual([]);
  });

  it('never takes a newer version of a package before an older one, whatever the dates say', () => {
    // 1.1 was (re)published long ago, 1.0 recently: the order of versions still wins within a package.
    const versions = [
      v('deb', 'a', '1.0', { daysAgo: 1 }),
      v('deb', 'a', '1.1', { daysAgo: 90 }),
      v('deb', 'a', '1.2', { daysAgo: 0 }),
    ];
    expect(removed(versions, { maxSize: 200 })).toEqual(['deb a 1.0 amd64']);
  });

  it('removes versions older than the age, never the newest, never one without a date', () => {
    const versions = [
      v('deb', 'a', '1', { daysAgo: 100 }),
      v('deb', 'a', '2', { daysAgo: 31 }),
      v('deb', 'a', '3', { daysAgo: 29 }),
      v('deb', 'a', '0'),
      v('deb', 'old', '1', { daysAgo: 365 }),
    ];
    const d = decideRetention(versions, policy({ olderThanMs: 30 * DAY }), now);
    expect(d.remove.map((r) => [r.version.ref, r.reasons])).toEqual([
      ['deb a 2 amd64', ['older-than']],
      ['deb a 1 amd64', ['older-than']],
    ]);
  });

  it('combines the rules: keep and older-than first, then max size on what is left; protected stays', () => {
    const versions = [
      v('deb', 'a', '1', { daysAgo: 100, size: 50 }),
      v('deb', 'a', '2', { daysAgo: 60, size: 50 }),
      v('deb', 'a', '3', { daysAgo: 20, size: 50 }),
      v('deb', 'a', '4', { daysAgo: 10, size: 50 }),
      v('deb', 'a', '5', { daysAgo: 1, size: 50 }),
    ];
    const rules = { keep: 3, olderThanMs: 50 * DAY, protect: [{ name: 'a', version: '1' }] };
    const d = decideRetention(versions, policy({ ...rules, maxSize: 160 }), now);
    expect(d.remove.map((r) => [r.version.version, r.reasons])).toEqual([
      ['3', ['max-size']],
      ['2', ['keep', 'older-than']],
    ]);
    expect(d.keep.map((k) => [k.version.version, k.why])).toEqual([
      ['5', 'newest'],
      ['4', 'kept'],
      ['1', 'protected'],
    ]);
    expect(d.overBy).toBe(0);
    // Protected 1 and newest 5 are not removable: 100 bytes is as small as it gets.
    const tight = decideRetention(versions, policy({ ...rules, maxSize: 60 }), now);
    expect(tight.remove.map((r) => r.version.version)).toEqual(['4', '3', '2']);
    expect(tight.sizeAfter).toBe(100);
    expect(tight.overBy).toBe(40);
  });

  it('drivers: the newest versions by driver-version order, protect by bare version', () => {
    const versions = ['7.0.0+driver', '8.0.0+driver', '6.0.0+driver', '8.1.0-rc1+driver'].map((x) =>
      v('driver', '', x),
    );
    expect(removed(versions, { keep: 2, protect: [{ version: '6.0.0+driver' }] })).toEqual([
      'driver  7.0.0+driver ',
    ]);
  });
});

describe('retention: parsing what users write', () => {
  it('accepts sizes, ages, keep and protect in their documented forms', () => {
    expect(parseSize('10GB')).toBe(10e9);
    expect(parseSize('1.5 MiB')).toBe(1.5 * 2 ** 20);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('500kb')).toBe(500_000);
    expect(parseAge('30d')).toBe(30 * DAY);
    expect(parseAge('12h')).toBe(12 * 3_600_000);
    expect(parseAge('2w')).toBe(14 * DAY);
    expect(parseKeep('10')).toBe(10);
    expect(parseProtect('falco=0.38.1')).toEqual({ name: 'falco', version: '0.38.1' });
    expect(parseProtect('epochpkg=1:2.0-1')).toEqual({ name: 'epochpkg', version: '1:2.0-1' });
    expect(parseProtect('8.0.0+driver', false)).toEqual({ version: '8.0.0+driver' });
  });

  it('refuses what it cannot read, saying what it expects', () => {
    expect(() => parseSize('10XB')).toThrow(/like 10GB, not "10XB"/);
    expect(() => parseSize('0')).toThrow(/at least 1 byte/);
    expect(() => parseAge('yesterday')).toThrow(/like 30d or 12h, not "yesterday"/);
    expect(() => parseAge('30')).toThrow(RangeError);
    expect(() => parseKeep('0')).toThrow(/at least 1, not "0"/);
    expect(() => parseKeep('2.5')).toThrow(RangeError);
    expect(() => parseProtect('noequals')).toThrow(/NAME=VERSION.*"noequals"/);
    expect(() => parseProtect('=1.0')).toThrow(RangeError);
    expect(() => parseProtect('falco=')).toThrow(RangeError);
  });

  it('reads retention per channel from pkgpub.yaml and reports bad values with their setting', () => {
    const file = parseConfig(
      'retention:\n  dev:\n    keep: 10\n    max_size: 10GB\n    older_than: 90d\n    protect: [falco=0.38.1]\n',
    );
    const cfg = resolveConfig(file, { channel: 'dev' });
    expect(cfg.retention.dev).toEqual({
      keep: 10,
      maxSize: 10e9,
      olderThanMs: 90 * DAY,
      protect: [{ name: 'falco', version: '0.38.1' }],
    });
    expect(cfg.retention.stable).toBeUndefined();
    const bad = parseConfig('retention:\n  dev:\n    keep: 0\n    max_size: 10XB\n    protect: [x]\n');
    let err: unknown;
    try {
      resolveConfig(bad, { channel: 'dev' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringMatching(/^retention\.dev\.keep: /),
      expect.stringMatching(/^retention\.dev\.max_size: /),
      expect.stringMatching(/^retention\.dev\.protect: /),
    ]);
    expect(() => parseConfig('retention:\n  nightly:\n    keep: 1\n')).toThrow(
      /unknown setting "retention\.nightly"/,
    );
  });
});

describe('build-bin removals', () => {
  it('drops the tarball from SHA256SUMS and makes it and its .asc garbage', () => {
    const cfg = resolveConfig({}, { channel: 'dev' });
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    const state: BinState = {
      sums: new Map([
        [
          'x86_64',
          new Map([
            ['falco-0.39.0-x86_64.tar.gz', a],
            ['falco-0.40.0-x86_64.tar.gz', b],
          ]),
        ],
      ]),
    };
    const res = buildBin({
      cfg,
      state,
      tarballs: [],
      removals: [
        { arch: 'x86_64', file: 'falco-0.39.0-x86_64.tar.gz' },
        { arch: 'x86_64', file: 'falco-0.1.0-x86_64.tar.gz' },
      ],
    });
    expect(res.changed).toBe(true);
    expect(res.changes.removed).toEqual(['x86_64/falco-0.39.0-x86_64.tar.gz']);
    expect(res.changes.unchanged).toEqual(['(no published tarball x86_64/falco-0.1.0-x86_64.tar.gz)']);
    expect(res.garbage).toEqual([
      'packages/bin-dev/x86_64/falco-0.39.0-x86_64.tar.gz',
      'packages/bin-dev/x86_64/falco-0.39.0-x86_64.tar.gz.asc',
    ]);
    expect(res.files.map((f) => f.key)).toEqual(['packages/bin-dev/x86_64/SHA256SUMS']);
    const body = res.files[0]!.body;
    expect('bytes' in body && new TextDecoder().decode(body.bytes)).toBe(
      `${b}  falco-0.40.0-x86_64.tar.gz\n`,
    );
  });
});
