import { compareDebianVersions } from '../formats/debian-version.js';
import { rpmvercmp } from '../formats/rpm-vercmp.js';
import { compareDriverVersions } from '../repos/drivers/driver-version.js';
import type { RetentionPolicy } from './policy.js';

export type RetentionKind = 'deb' | 'rpm' | 'tarball' | 'driver';

/** One published version of one package on one arch (or one driver version), as the indexes describe it. */
export interface PublishedVersion<T = unknown> {
  kind: RetentionKind;
  /** Package name ('' for drivers). */
  name: string;
  /** '' for drivers. */
  arch: string;
  /** Builds that are not interchangeable although they share name and arch (a static tarball). */
  flavour?: string;
  /** As the kind's own tools order it; rpm: EPOCH:VERSION-RELEASE. */
  version: string;
  /** Other spellings `--protect NAME=VERSION` may use for it (rpm: VERSION, VERSION-RELEASE). */
  aliases?: readonly string[];
  /** Bytes of the package file(s), from the indexes or a listing. */
  size: number;
  /** When it was published (ms since the epoch); absent when the target cannot say. */
  time?: number;
  /** What the caller needs to remove it; never looked at here. */
  ref: T;
}

export type Rule = 'keep' | 'older-than' | 'max-size';

export interface Removal<T> {
  version: PublishedVersion<T>;
  /** Every rule that removes it, in the order they are applied. */
  reasons: Rule[];
}

export interface Kept<T> {
  version: PublishedVersion<T>;
  why: 'newest' | 'protected' | 'kept';
}

export interface RetentionDecision<T> {
  /** In kind, name, arch order, newest first within each. */
  remove: Removal<T>[];
  keep: Kept<T>[];
  sizeBefore: number;
  sizeAfter: number;
  bytesFreed: number;
  /** With max size: what the channel is still over once everything removable is gone (0 when it fits). */
  overBy: number;
}

/** Ascending, in the order apt, rpm and the driver loader compare versions. */
export function compareVersions(kind: RetentionKind, a: string, b: string): number {
  switch (kind) {
    case 'rpm':
      return compareEvr(a, b);
    case 'driver':
      return compareDriverVersions(a, b);
    default:
      // Tarball versions are upstream versions as the package versions spell them (0.40.0-rc1, 0.39.0+git1).
      return compareDebianVersions(a, b);
  }
}

/** rpm's EVR order: epoch as a number, then version and release by rpmvercmp. */
export function compareEvr(a: string, b: string): number {
  const x = splitEvr(a);
  const y = splitEvr(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return rpmvercmp(x.version, y.version) || rpmvercmp(x.release, y.release);
}

function splitEvr(evr: string): { epoch: number; version: string; release: string } {
  const colon = evr.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(evr.slice(0, colon)) ? Number(evr.slice(0, colon)) : 0;
  const vr = colon > 0 ? evr.slice(colon + 1) : evr;
  const dash = vr.lastIndexOf('-');
  return dash < 0
    ? { epoch, version: vr, release: '' }
    : { epoch, version: vr.slice(0, dash), release: vr.slice(dash + 1) };
}

function groupKey(v: PublishedVersion): string {
  return [v.kind, v.name, v.flavour ?? '', v.arch].join('\0');
}

function isProtected(v: PublishedVersion, policy: RetentionPolicy): boolean {
  return policy.protect.some(
    (p) =>
      (p.name === undefined || p.name === v.name) &&
      (p.version === v.version || (v.aliases?.includes(p.version) ?? false)),
  );
}

/**
 * Pure: which published versions a retention policy removes, and why. Per package name and arch
 * (and flavour) the newest version always stays, and protected versions always stay without
 * counting against `keep`. `keep` and `olderThanMs` are applied first; `maxSize` then removes the
 * oldest of what is left, across the whole channel, until it fits, never a newer version of a
 * package before an older one of the same package.
 */
export function decideRetention<T>(
  versions: readonly PublishedVersion<T>[],
  policy: RetentionPolicy,
  now: Date,
): RetentionDecision<T> {
  const groups = new Map<string, PublishedVersion<T>[]>();
  for (const v of versions) {
    const k = groupKey(v);
    const g = groups.get(k);
    if (g) g.push(v);
    else groups.set(k, [v]);
  }
  const reasons = new Map<PublishedVersion<T>, Rule[]>();
  const why = new Map<PublishedVersion<T>, Kept<T>['why']>();
  /** Per group, oldest first: what max size may still take. */
  const removable: PublishedVersion<T>[][] = [];
  const remove = (v: PublishedVersion<T>, rule: Rule) => {
    const r = reasons.get(v);
    if (r) r.push(rule);
    else reasons.set(v, [rule]);
  };
  const keys = [...groups.keys()].sort();
  for (const key of keys) {
    const newestFirst = [...groups.get(key)!].sort((a, b) => compareVersions(a.kind, b.version, a.version));
    let counted = 0;
    const open: PublishedVersion<T>[] = [];
    newestFirst.forEach((v, i) => {
      const prot = isProtected(v, policy);
      if (prot) why.set(v, 'protected');
      else counted++;
      if (i === 0 && !prot) why.set(v, 'newest');
      if (i === 0 || prot) return;
      if (policy.keep !== undefined && counted > policy.keep) remove(v, 'keep');
      if (
        policy.olderThanMs !== undefined &&
        v.time !== undefined &&
        now.getTime() - v.time > policy.olderThanMs
      )
        remove(v, 'older-than');
      if (!reasons.has(v)) open.push(v);
    });
    removable.push(open.reverse());
  }

  const sizeBefore = versions.reduce((n, v) => n + v.size, 0);
  let size = sizeBefore - [...reasons.keys()].reduce((n, v) => n + v.size, 0);
  if (policy.maxSize !== undefined) {
    // Oldest first across packages: each package offers its oldest removable version in turn.
    const heads = removable.filter((q) => q.length > 0);
    const age = (v: PublishedVersion<T>) => v.time ?? Number.NEGATIVE_INFINITY;
    while (size > policy.maxSize && heads.length > 0) {
      let pick = 0;
      for (let i = 1; i < heads.length; i++) if (age(heads[i]![0]!) < age(heads[pick]![0]!)) pick = i;
      const v = heads[pick]!.shift()!;
      if (heads[pick]!.length === 0) heads.splice(pick, 1);
      remove(v, 'max-size');
      size -= v.size;
    }
  }

  const order = (a: PublishedVersion<T>, b: PublishedVersion<T>) => {
    const ka = groupKey(a);
    const kb = groupKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : compareVersions(a.kind, b.version, a.version);
  };
  const removed = [...reasons.entries()]
    .map(([version, r]) => ({ version, reasons: r }))
    .sort((a, b) => order(a.version, b.version));
  const kept = versions
    .filter((v) => !reasons.has(v))
    .map((version) => ({ version, why: why.get(version) ?? ('kept' as const) }))
    .sort((a, b) => order(a.version, b.version));
  return {
    remove: removed,
    keep: kept,
    sizeBefore,
    sizeAfter: size,
    bytesFreed: sizeBefore - size,
    overBy: policy.maxSize !== undefined && size > policy.maxSize ? size - policy.maxSize : 0,
  };
}
