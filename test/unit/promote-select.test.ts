import { describe, expect, it } from 'vitest';
import {
  isPrerelease,
  parsePromoteSpec,
  pickVersions,
  type SourceIndex,
} from '../../src/changes/promote-select.js';
import { UsageError } from '../../src/errors.js';
import type { AptEntry } from '../../src/repos/apt/packages-index.js';
import type { YumEntry } from '../../src/repos/yum/build-yum.js';

const deb = (name: string, version: string, arch = 'amd64'): AptEntry => ({
  name,
  version,
  arch,
  filename: `stable/${name}_${version}_${arch}.deb`,
  sha256: 'a'.repeat(64),
  size: 1,
  stanza: [],
});

const rpm = (name: string, ver: string, rel: string, epoch = '0', arch = 'x86_64'): YumEntry => ({
  name,
  arch,
  epoch,
  ver,
  rel,
  pkgid: `${name}${ver}${rel}`.padEnd(64, '0'),
  href: `${name}-${ver}-${rel}.${arch}.rpm`,
  nevra: `${name}-${epoch}:${ver}-${rel}.${arch}`,
  primary: '',
  filelists: '',
  other: '',
});

const tar = (fileName: string, arch = 'x86_64') => ({ arch, fileName, sha256: 'b'.repeat(64) });

const source: SourceIndex = {
  debs: [
    deb('falco', '0.38.2'),
    deb('falco', '0.39.0'),
    deb('falco', '0.39.0', 'arm64'),
    deb('falco', '0.40.0~rc1'),
    deb('falco', '0.9.9'),
  ],
  rpms: [
    rpm('falco', '0.39.0', '1'),
    rpm('falco', '0.39.0', '2'),
    rpm('falco', '0.40.0', '0.rc1'),
    rpm('tool', '1.0', '1', '1'),
    rpm('tool', '9.0', '1'),
  ],
  tarballs: [
    tar('falco-0.39.0-x86_64.tar.gz'),
    tar('falco-0.39.0-aarch64.tar.gz', 'aarch64'),
    tar('falco-0.40.0-rc1-x86_64.tar.gz'),
  ],
};

const pick = (specs: string[], allowPrerelease = false) =>
  pickVersions(source, specs.map(parsePromoteSpec), { channel: 'dev', allowPrerelease });

describe('promote: which versions', () => {
  it('knows prereleases in every spelling and leaves releases alone', () => {
    for (const v of [
      '0.40.0~rc1',
      '0.40.0-rc1',
      '0.40.0-0.rc1',
      '1.0-beta2',
      '2.0.alpha',
      '3.0-pre1',
      '1.0~git1',
      '0.rc1',
    ])
      expect(isPrerelease(v), v).toBe(true);
    for (const v of [
      '0.39.0',
      '0.39.0-1',
      '1:2.0-1',
      '0.39.0+git1-1',
      '1.2.3-1.el9',
      'precise-1',
      '1.0-1.fc39',
    ])
      expect(isPrerelease(v), v).toBe(false);
  });

  it('takes every arch of a named version, per kind', () => {
    const p = pick(['falco=0.39.0']);
    expect(p.debs.map((d) => `${d.version} ${d.arch}`).sort()).toEqual(['0.39.0 amd64', '0.39.0 arm64']);
    // VERSION alone names the newest release of it.
    expect(p.rpms.map((r) => `${r.ver}-${r.rel}`)).toEqual(['0.39.0-2']);
    expect(p.tarballs.map((t) => t.fileName).sort()).toEqual([
      'falco-0.39.0-aarch64.tar.gz',
      'falco-0.39.0-x86_64.tar.gz',
    ]);
    expect(pick(['falco=0.39.0-1']).rpms.map((r) => r.rel)).toEqual(['1']);
    expect(pick(['falco=0.39.0-1']).debs).toEqual([]);
  });

  it('without a version takes the newest, in each ecosystem order, and refuses it when it is a prerelease', () => {
    expect(() => pick(['falco'])).toThrow(/falco 0\.40\.0~rc1 \(deb\) is a prerelease, the newest in dev/);
    const p = pick(['falco'], true);
    expect(p.debs.map((d) => d.version)).toEqual(['0.40.0~rc1']);
    expect(p.rpms.map((r) => `${r.ver}-${r.rel}`)).toEqual(['0.40.0-0.rc1']);
    expect(p.tarballs.map((t) => t.fileName)).toEqual(['falco-0.40.0-rc1-x86_64.tar.gz']);
    // The epoch wins over a higher version.
    expect(pick(['tool']).rpms.map((r) => `${r.epoch}:${r.ver}`)).toEqual(['1:1.0']);
    expect(pick(['tool=9.0']).rpms.map((r) => r.ver)).toEqual(['9.0']);
  });

  it('names what the channel has when the name or version is not there', () => {
    expect(() => pick(['nosuch'])).toThrow(UsageError);
    expect(() => pick(['nosuch'])).toThrow('nosuch is not published in the dev channel');
    expect(() => pick(['tool=2.0'])).toThrow(
      /tool=2\.0 is not published in the dev channel \(it has rpm 9\.0-1, rpm 1:1\.0-1\)/,
    );
    expect(() => parsePromoteSpec('=1.0')).toThrow(UsageError);
    expect(() => parsePromoteSpec('falco=')).toThrow(UsageError);
    expect(parsePromoteSpec('falco=1:2.0-1')).toEqual({ name: 'falco', version: '1:2.0-1' });
  });
});
