/**
 * Turns parsed rpm headers into the package description repodata needs. Pure: no I/O, no
 * digests. Where createrepo_c reshapes header data on its way into primary.xml (requires
 * filtering, flag names, EVR splitting, the "src" arch), this does the same so a yum builder
 * can write the lists as they are.
 */
import type { RpmArtifact, RpmChangelogEntry, RpmDependency, RpmFile } from '../artifacts/types.js';
import { parsePgpSignature } from './pgp-signature-packet.js';
import { RPMSIGTAG, RPMTAG, type RpmHeader, RpmFormatError, type RpmLead } from './rpm-header.js';
import { rpmvercmp } from './rpm-vercmp.js';

/** Dependency flag bits (rpmsenseFlags in rpmds.h). */
export const RPMSENSE = {
  LESS: 1 << 1,
  GREATER: 1 << 2,
  EQUAL: 1 << 3,
  PREREQ: 1 << 6,
  INTERP: 1 << 8,
  SCRIPT_PRE: 1 << 9,
  SCRIPT_POST: 1 << 10,
  MISSINGOK: 1 << 19,
  RPMLIB: 1 << 24,
  STRONG: 1 << 27,
} as const;

/** File flag bits (rpmfileAttrs). */
export const RPMFILE = { CONFIG: 1 << 0, GHOST: 1 << 6 } as const;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** Tags removed from rpm's current tag list but still in old packages (rpmtag.h 1156-1161). */
const OLDSUGGESTS = { name: 1156, version: 1157, flags: 1158 };
const OLDENHANCES = { name: 1159, version: 1160, flags: 1161 };

export type DependencyKind =
  | 'provides'
  | 'requires'
  | 'conflicts'
  | 'obsoletes'
  | 'recommends'
  | 'suggests'
  | 'supplements'
  | 'enhances';

const DEP_TAGS: Record<DependencyKind, { name: number; version: number; flags: number }> = {
  provides: { name: RPMTAG.PROVIDENAME, version: RPMTAG.PROVIDEVERSION, flags: RPMTAG.PROVIDEFLAGS },
  requires: { name: RPMTAG.REQUIRENAME, version: RPMTAG.REQUIREVERSION, flags: RPMTAG.REQUIREFLAGS },
  conflicts: { name: RPMTAG.CONFLICTNAME, version: RPMTAG.CONFLICTVERSION, flags: RPMTAG.CONFLICTFLAGS },
  obsoletes: { name: RPMTAG.OBSOLETENAME, version: RPMTAG.OBSOLETEVERSION, flags: RPMTAG.OBSOLETEFLAGS },
  recommends: { name: RPMTAG.RECOMMENDNAME, version: RPMTAG.RECOMMENDVERSION, flags: RPMTAG.RECOMMENDFLAGS },
  suggests: { name: RPMTAG.SUGGESTNAME, version: RPMTAG.SUGGESTVERSION, flags: RPMTAG.SUGGESTFLAGS },
  supplements: {
    name: RPMTAG.SUPPLEMENTNAME,
    version: RPMTAG.SUPPLEMENTVERSION,
    flags: RPMTAG.SUPPLEMENTFLAGS,
  },
  enhances: { name: RPMTAG.ENHANCENAME, version: RPMTAG.ENHANCEVERSION, flags: RPMTAG.ENHANCEFLAGS },
};

/** A dependency exactly as the header holds it (what `rpm -q --qf '[%{REQUIRENAME} ...]'` prints). */
export interface RawDependency {
  name: string;
  flags: number;
  /** [epoch:]version[-release], empty when unversioned. */
  version: string;
}

function rawFromTags(h: RpmHeader, t: { name: number; version: number; flags: number }): RawDependency[] {
  const names = h.getStrings(t.name);
  if (!names) return [];
  const flags = h.getNumbers(t.flags) ?? [];
  const versions = h.getStrings(t.version) ?? [];
  return names.map((name, i) => ({ name, flags: flags[i] ?? 0, version: versions[i] ?? '' }));
}

export function rawDependencies(h: RpmHeader, kind: DependencyKind): RawDependency[] {
  return rawFromTags(h, DEP_TAGS[kind]);
}

/** createrepo_c's flag names: only the exact sense combinations it knows, otherwise none. */
export function flagName(flags: number): RpmDependency['flags'] {
  switch (flags & 0xf) {
    case 2:
      return 'LT';
    case 4:
      return 'GT';
    case 8:
      return 'EQ';
    case 10:
      return 'LE';
    case 12:
      return 'GE';
    default:
      return undefined;
  }
}

export interface Evr {
  epoch?: string;
  version?: string;
  release?: string;
  /** The text before ':' was not a number: createrepo_c drops such a dependency. */
  badEpoch?: boolean;
}

/** Splits [epoch:]version[-release] the way createrepo_c does (epoch "0" when missing; first '-' splits). */
export function splitEvr(s: string): Evr {
  if (s === '') return {};
  const colon = s.indexOf(':');
  let epoch = '0';
  let rest = s;
  if (colon >= 0) {
    const before = s.slice(0, colon);
    if (before !== '' && !/^\s*[+-]?\d+$/.test(before)) return { badEpoch: true };
    if (before !== '') epoch = before;
    rest = s.slice(colon + 1);
  }
  const dash = rest.indexOf('-');
  if (dash < 0) return { epoch, version: rest };
  const release = rest.slice(dash + 1);
  return { epoch, version: rest.slice(0, dash), ...(release ? { release } : {}) };
}

function toDependency(d: RawDependency): RpmDependency | undefined {
  const evr = splitEvr(d.version);
  if (evr.badEpoch) return undefined;
  const flags = flagName(d.flags);
  const dep: RpmDependency = { name: d.name };
  // Without a sense, primary.xml carries no EVR either.
  if (flags) {
    dep.flags = flags;
    if (evr.epoch) dep.epoch = evr.epoch;
    if (evr.version) dep.version = evr.version;
    if (evr.release) dep.release = evr.release;
  }
  return dep;
}

/** Paths createrepo_c lists in primary.xml (and the file requires it drops when the package has them). */
export function isPrimaryFile(path: string): boolean {
  return path.startsWith('/etc/') || path === '/usr/lib/sendmail' || path.includes('bin/');
}

/** Orders libc.so.6 requires by the version inside the first parentheses (1: first higher, 2: second). */
function compareLibc(a: string, b: string): 0 | 1 | 2 {
  const inner = (s: string): string | undefined | null => {
    const open = s.indexOf('(');
    if (open < 0) return undefined;
    const close = s.indexOf(')', open);
    if (close < 0) return null;
    const body = s.slice(open + 1, close);
    const digit = body.search(/[0-9]/);
    return digit < 0 ? '' : body.slice(digit);
  };
  const x = inner(a);
  const y = inner(b);
  if (x === undefined && y === undefined) return 0;
  if (x === undefined) return 2;
  if (y === undefined) return 1;
  if (x === null || y === null) return x === null ? 2 : 1;
  if (x === '' && y === '') return 0;
  if (x === '') return 2;
  if (y === '') return 1;
  const c = rpmvercmp(x, y);
  return c === -1 ? 2 : c;
}

export interface DependencyLists {
  provides: RpmDependency[];
  requires: RpmDependency[];
  conflicts: RpmDependency[];
  obsoletes: RpmDependency[];
  recommends: RpmDependency[];
  suggests: RpmDependency[];
  supplements: RpmDependency[];
  enhances: RpmDependency[];
}

/**
 * The dependency lists as createrepo_c writes them into primary.xml. Requires are filtered:
 * rpmlib(...) entries go; a file require the package itself ships goes when the path is a
 * "primary" one (/etc/, *bin/, /usr/lib/sendmail); a require identical to one of the package's
 * provides (name, sense and version) goes; exact duplicates go; of the libc.so.6 requires only
 * the highest version survives, at the end; MISSINGOK requires become recommends. pre is set
 * for PREREQ / SCRIPT_PRE / SCRIPT_POST requires. A dependency with a non-numeric epoch is dropped.
 */
export function createrepoDependencies(h: RpmHeader, filePaths: ReadonlySet<string>): DependencyLists {
  const out: DependencyLists = {
    provides: [],
    requires: [],
    conflicts: [],
    obsoletes: [],
    recommends: [],
    suggests: [],
    supplements: [],
    enhances: [],
  };
  const provided = new Set<string>();
  const key = (d: RawDependency) => d.name + (flagName(d.flags) ?? '') + d.version;

  for (const d of rawDependencies(h, 'provides')) {
    const dep = toDependency(d);
    if (!dep) continue;
    provided.add(key(d));
    out.provides.push(dep);
  }
  for (const kind of ['conflicts', 'obsoletes'] as const) {
    for (const d of rawDependencies(h, kind)) {
      const dep = toDependency(d);
      if (dep) out[kind].push(dep);
    }
  }

  const seen = new Map<string, { flags: string; version: string; pre: boolean }>();
  let libc: RpmDependency | undefined;
  for (const d of rawDependencies(h, 'requires')) {
    if (d.name.startsWith('rpmlib(')) continue;
    if (d.name.startsWith('/') && filePaths.has(d.name) && isPrimaryFile(d.name)) continue;
    if (provided.has(key(d))) continue;
    const pre = (d.flags & (RPMSENSE.PREREQ | RPMSENSE.SCRIPT_PRE | RPMSENSE.SCRIPT_POST)) !== 0;
    const flagStr = flagName(d.flags) ?? '';
    const prev = seen.get(d.name);
    if (prev && prev.flags === flagStr && prev.version === d.version && prev.pre === pre) continue;
    const dep = toDependency(d);
    if (!dep) continue;
    if (d.flags & RPMSENSE.MISSINGOK) {
      out.recommends.push(dep);
      continue;
    }
    if (pre) dep.pre = true;
    if (dep.name.startsWith('libc.so.6')) {
      if (!libc || compareLibc(libc.name, dep.name) === 2) libc = dep;
      continue;
    }
    out.requires.push(dep);
    seen.set(d.name, { flags: flagStr, version: d.version, pre });
  }
  if (libc) out.requires.push(libc);

  for (const kind of ['suggests', 'enhances', 'recommends', 'supplements'] as const) {
    for (const d of rawDependencies(h, kind)) {
      const dep = toDependency(d);
      if (dep) out[kind].push(dep);
    }
  }
  // Pre-4.12 weak dependencies: the STRONG bit tells the strong variant.
  for (const d of rawFromTags(h, OLDSUGGESTS)) {
    const dep = toDependency(d);
    if (dep) out[d.flags & RPMSENSE.STRONG ? 'recommends' : 'suggests'].push(dep);
  }
  for (const d of rawFromTags(h, OLDENHANCES)) {
    const dep = toDependency(d);
    if (dep) out[d.flags & RPMSENSE.STRONG ? 'supplements' : 'enhances'].push(dep);
  }
  return out;
}

/** The file list in header order, with createrepo_c's type rule (dir wins over ghost). */
export function rpmFiles(h: RpmHeader): RpmFile[] {
  let paths: string[];
  const basenames = h.getStrings(RPMTAG.BASENAMES);
  if (basenames) {
    const dirnames = h.getStrings(RPMTAG.DIRNAMES) ?? [];
    const dirindexes = h.getNumbers(RPMTAG.DIRINDEXES) ?? [];
    if (dirindexes.length !== basenames.length)
      throw new RpmFormatError(`${basenames.length} file names but ${dirindexes.length} directory indexes`);
    paths = basenames.map((base, i) => {
      const dir = dirnames[dirindexes[i]!];
      if (dir === undefined)
        throw new RpmFormatError(`file ${base}: directory index ${dirindexes[i]} out of range`);
      return dir + base;
    });
  } else {
    paths = h.getStrings(RPMTAG.OLDFILENAMES) ?? [];
  }
  const modes = h.getNumbers(RPMTAG.FILEMODES) ?? [];
  const flags = h.getNumbers(RPMTAG.FILEFLAGS) ?? [];
  return paths.map((path, i) => {
    const fl = flags[i] ?? 0;
    const type = ((modes[i] ?? 0) & S_IFMT) === S_IFDIR ? 'dir' : fl & RPMFILE.GHOST ? 'ghost' : 'file';
    const file: RpmFile = { path, type };
    if (fl & RPMFILE.CONFIG) file.config = true;
    return file;
  });
}

/** Changelog entries in header order (newest first), exactly as stored: createrepo_c trims/limits later. */
export function rpmChangelog(h: RpmHeader): RpmChangelogEntry[] {
  const times = h.getNumbers(RPMTAG.CHANGELOGTIME) ?? [];
  const names = h.getStrings(RPMTAG.CHANGELOGNAME) ?? [];
  const texts = h.getStrings(RPMTAG.CHANGELOGTEXT) ?? [];
  const n = Math.min(times.length, names.length, texts.length);
  const out: RpmChangelogEntry[] = [];
  for (let i = 0; i < n; i++) out.push({ author: names[i]!, date: times[i]!, text: texts[i]! });
  return out;
}

export interface RpmSignatureInfo {
  signed: boolean;
  keyId?: string;
  algorithm?: string;
}

/** In the order `rpm -qpi` picks for its Signature line (OpenPGP is rpm 6's array of base64 packets). */
export function rpmSignature(sig: RpmHeader): RpmSignatureInfo {
  const packets: Uint8Array[] = [];
  for (const tag of [RPMSIGTAG.DSA, RPMSIGTAG.RSA]) {
    const b = sig.has(tag) ? sig.raw(tag) : undefined;
    if (b) packets.push(b);
  }
  if (sig.has(RPMSIGTAG.OPENPGP)) {
    const e = sig.entry(RPMSIGTAG.OPENPGP)!;
    const list = e.type === 8 || e.type === 6 ? (sig.getStrings(RPMSIGTAG.OPENPGP) ?? []) : [];
    for (const s of list) packets.push(Buffer.from(s.replace(/\s+/g, ''), 'base64'));
    if (list.length === 0) packets.push(sig.raw(RPMSIGTAG.OPENPGP)!);
  }
  for (const tag of [RPMSIGTAG.GPG, RPMSIGTAG.PGP]) {
    const b = sig.has(tag) ? sig.raw(tag) : undefined;
    if (b) packets.push(b);
  }
  if (packets.length === 0) return { signed: false };
  for (const p of packets) {
    const info = parsePgpSignature(p);
    if (info?.keyId) return { signed: true, keyId: info.keyId, algorithm: info.algorithm };
  }
  return { signed: true };
}

/** Everything the headers say about a package: an RpmArtifact without what only the file knows. */
export type RpmDescription = Omit<
  RpmArtifact,
  'kind' | 'path' | 'fileName' | 'size' | 'sha256' | 'digests' | 'headerRange' | 'headerSha256'
>;

const LEAD_TYPE_SOURCE = 1;

export function describeRpm(lead: RpmLead, sig: RpmHeader, main: RpmHeader): RpmDescription {
  const required = (tag: number, what: string): string => {
    const v = main.getString(tag);
    if (v === undefined || v === '') throw new RpmFormatError(`header has no ${what}`);
    return v;
  };
  const str = (tag: number) => main.getString(tag) ?? '';
  const name = required(RPMTAG.NAME, 'NAME');
  const version = required(RPMTAG.VERSION, 'VERSION');
  const release = required(RPMTAG.RELEASE, 'RELEASE');
  const sourceRpm = str(RPMTAG.SOURCERPM);
  const isSource = lead.type === LEAD_TYPE_SOURCE || main.has(RPMTAG.SOURCEPACKAGE) || sourceRpm === '';
  // createrepo_c (and yum/dnf) call a source package's arch "src" whatever ARCH says.
  const arch = isSource ? 'src' : required(RPMTAG.ARCH, 'ARCH');
  const epochPresent = main.has(RPMTAG.EPOCH);
  const epoch = main.getNumber(RPMTAG.EPOCH) ?? 0;
  const files = rpmFiles(main);
  const deps = createrepoDependencies(main, new Set(files.map((f) => f.path)));
  const num = (h: RpmHeader, tag: number) => (h.has(tag) ? h.getNumber(tag) : undefined);
  return {
    name,
    epoch,
    epochPresent,
    version,
    release,
    arch,
    nevra: `${name}-${epochPresent ? `${epoch}:` : ''}${version}-${release}.${arch}`,
    isSource,
    summary: str(RPMTAG.SUMMARY),
    description: str(RPMTAG.DESCRIPTION),
    packager: str(RPMTAG.PACKAGER),
    url: str(RPMTAG.URL),
    license: str(RPMTAG.LICENSE),
    vendor: str(RPMTAG.VENDOR),
    group: str(RPMTAG.GROUP),
    buildHost: str(RPMTAG.BUILDHOST),
    sourceRpm,
    buildTime: num(main, RPMTAG.BUILDTIME) ?? 0,
    installedSize: num(main, RPMTAG.LONGSIZE) ?? num(main, RPMTAG.SIZE) ?? 0,
    // The main header's own tags first; rpm merges the signature header's only where those are missing.
    archiveSize:
      num(main, RPMSIGTAG.LONGARCHIVESIZE) ??
      num(sig, RPMSIGTAG.LONGARCHIVESIZE) ??
      num(main, RPMTAG.ARCHIVESIZE) ??
      num(sig, RPMSIGTAG.PAYLOADSIZE) ??
      0,
    ...deps,
    files,
    changelog: rpmChangelog(main),
    signature: rpmSignature(sig),
  };
}
