/**
 * Orders driver versions newest first. Falco's driver versions are semver with build metadata
 * (`8.0.0+driver`, `7.2.1-rc1+driver`); the oldest ones were bare git commit ids, which carry no
 * order of their own and are older than any semver one, so they sort last (by name, to stay stable).
 */
const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.+-]*))?$/;

interface Parsed {
  core: [number, number, number];
  pre: string[];
  build: string;
}

function parse(v: string): Parsed | undefined {
  const m = SEMVER.exec(v);
  if (!m) return undefined;
  return {
    core: [Number(m[1]), Number(m[2]), Number(m[3])],
    pre: m[4] ? m[4].split('.') : [],
    build: m[5] ?? '',
  };
}

function cmpText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver precedence of pre-release identifiers: numbers below words, numbers numerically. */
function cmpPre(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return (a.length === 0 ? 1 : 0) - (b.length === 0 ? 1 : 0);
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (xn !== yn) {
      return xn ? -1 : 1;
    } else {
      const d = cmpText(x, y);
      if (d !== 0) return d;
    }
  }
  return Math.sign(a.length - b.length);
}

/** < 0 when `a` is older than `b`. */
export function compareDriverVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) {
    if (pa) return 1;
    if (pb) return -1;
    return cmpText(b, a);
  }
  for (let i = 0; i < 3; i++) {
    const d = pa.core[i]! - pb.core[i]!;
    if (d !== 0) return Math.sign(d);
  }
  return cmpPre(pa.pre, pb.pre) || cmpText(pa.build, pb.build);
}

/** Newest first, duplicates dropped. */
export function sortDriverVersions(versions: Iterable<string>): string[] {
  return [...new Set(versions)].sort((a, b) => compareDriverVersions(b, a));
}
