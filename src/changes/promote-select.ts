import { parseTarballName } from '../artifacts/read-tarball.js';
import { UsageError } from '../errors.js';
import { compareDebianVersions } from '../formats/debian-version.js';
import { rpmvercmp } from '../formats/rpm-vercmp.js';
import type { AptEntry } from '../repos/apt/packages-index.js';
import type { YumEntry } from '../repos/yum/build-yum.js';

/** `NAME` or `NAME=VERSION` on the command line. */
export interface PromoteSpec {
  name: string;
  version?: string;
}

/** One tarball line of a source SHA256SUMS. */
export interface SourceTarball {
  arch: string;
  fileName: string;
  sha256: string;
}

/** What the source channel holds, as its own indexes say. */
export interface SourceIndex {
  debs: AptEntry[];
  rpms: YumEntry[];
  tarballs: SourceTarball[];
}

/** A tarball line whose file name parses as `<name>-<version>[-static]-<arch>.tar.gz`. */
export interface NamedTarball extends SourceTarball {
  name: string;
  version: string;
}

export interface Picked {
  debs: AptEntry[];
  rpms: YumEntry[];
  tarballs: NamedTarball[];
}

export function parsePromoteSpec(text: string): PromoteSpec {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  const version = eq < 0 ? undefined : text.slice(eq + 1);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) || version === '')
    throw new UsageError(`promote: "${text}" is not NAME or NAME=VERSION`);
  return version === undefined ? { name } : { name, version };
}

/**
 * A version that is not a release: a Debian `~` (sorts before the release), or an rc, alpha, beta,
 * pre or dev part, as in 0.40.0-rc1, 0.40.0~rc1, or an rpm release 0.rc1.
 */
export function isPrerelease(version: string): boolean {
  return version.includes('~') || /(^|[^a-z])(rc|alpha|beta|pre|dev)[0-9]*([^a-z]|$)/i.test(version);
}

/** One kind's view of a candidate: how its versions are named, matched and ordered. */
interface Kind<T> {
  what: string;
  name(t: T): string;
  /** The version as shown (rpm: [E:]V-R). */
  shown(t: T): string;
  matches(t: T, version: string): boolean;
  compare(a: T, b: T): number;
}

const debKind: Kind<AptEntry> = {
  what: 'deb',
  name: (e) => e.name,
  shown: (e) => e.version,
  matches: (e, v) => e.version === v,
  compare: (a, b) => compareDebianVersions(a.version, b.version),
};

const rpmKind: Kind<YumEntry> = {
  what: 'rpm',
  name: (e) => e.name,
  shown: (e) => `${e.epoch === '0' ? '' : `${e.epoch}:`}${e.ver}-${e.rel}`,
  matches: (e, v) => v === e.ver || v === `${e.ver}-${e.rel}` || v === `${e.epoch}:${e.ver}-${e.rel}`,
  compare: (a, b) => Number(a.epoch) - Number(b.epoch) || rpmvercmp(a.ver, b.ver) || rpmvercmp(a.rel, b.rel),
};

const tarballKind: Kind<NamedTarball> = {
  what: 'tarball',
  name: (t) => t.name,
  shown: (t) => t.version,
  matches: (t, v) => t.version === v,
  // A dash before letters starts a prerelease in a tarball name (0.40.0-rc1): in Debian order that
  // is a `~`, which sorts it before 0.40.0.
  compare: (a, b) => compareDebianVersions(tarballOrder(a.version), tarballOrder(b.version)),
};

function tarballOrder(v: string): string {
  return v.replace(/-(?=[A-Za-z])/g, '~').replace(/-/g, '.');
}

/**
 * Pure: for each spec, every arch of the named version, or of the newest one when none is named,
 * in each kind of repository that has the name. A name found nowhere, a version found nowhere, and a
 * prerelease without `allowPrerelease` are usage errors that name what the channel has instead.
 */
export function pickVersions(
  source: SourceIndex,
  specs: readonly PromoteSpec[],
  opts: { channel: string; allowPrerelease: boolean },
): Picked {
  const tarballs = source.tarballs.flatMap((t): NamedTarball[] => {
    const parsed = parseTarballName(t.fileName);
    return typeof parsed === 'string' ? [] : [{ ...t, name: parsed.name, version: parsed.version }];
  });
  const out: Picked = { debs: [], rpms: [], tarballs: [] };
  for (const spec of specs) {
    const debs = pickOne(debKind, source.debs, spec);
    const rpms = pickOne(rpmKind, source.rpms, spec);
    const tars = pickOne(tarballKind, tarballs, spec);
    const found = [debs, rpms, tars];
    if (found.every((f) => f.has.length === 0)) {
      const names = [...new Set([...source.debs, ...source.rpms, ...tarballs].map((p) => p.name))].sort();
      throw new UsageError(
        `${spec.name} is not published in the ${opts.channel} channel (${names.length > 0 ? `it has ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}` : 'it is empty'})`,
      );
    }
    if (found.every((f) => f.picked.length === 0)) {
      const has = found.flatMap((f) => f.has.map((v) => `${f.what} ${v}`));
      throw new UsageError(
        `${spec.name}=${spec.version} is not published in the ${opts.channel} channel (it has ${has.join(', ')})`,
      );
    }
    if (!opts.allowPrerelease)
      for (const f of found)
        for (const v of f.versions)
          if (isPrerelease(v))
            throw new UsageError(
              `${spec.name} ${v} (${f.what}) is a prerelease${spec.version === undefined ? `, the newest in ${opts.channel}` : ''}; name a release (${spec.name}=VERSION) or pass --allow-prerelease`,
            );
    out.debs.push(...debs.picked);
    out.rpms.push(...rpms.picked);
    out.tarballs.push(...tars.picked);
  }
  return out;
}

function pickOne<T>(
  kind: Kind<T>,
  all: readonly T[],
  spec: PromoteSpec,
): { what: string; has: string[]; picked: T[]; versions: string[] } {
  const named = all.filter((t) => kind.name(t) === spec.name);
  const has = [...new Set([...named].sort(kind.compare).map(kind.shown))];
  const pool = spec.version === undefined ? named : named.filter((t) => kind.matches(t, spec.version!));
  if (pool.length === 0) return { what: kind.what, has, picked: [], versions: [] };
  // Newest first; with VERSION naming an rpm's version alone, its newest release.
  const newest = pool.reduce((a, b) => (kind.compare(a, b) >= 0 ? a : b));
  const picked = pool.filter((t) => kind.compare(t, newest) === 0);
  return { what: kind.what, has, picked, versions: [kind.shown(newest)] };
}
