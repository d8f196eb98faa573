/**
 * What a retention run may remove, as the user wrote it (flags or pkgpub.yaml's `retention:`),
 * parsed into numbers. Parsers throw RangeError with a message fit for the user; commands turn it
 * into a usage error and the config resolver into a config problem.
 */
export interface RetentionPolicy {
  /** Newest versions kept per package name and arch (protected ones not counted). */
  keep?: number;
  /** Bytes the channel's packages may take; the oldest versions go first until it fits. */
  maxSize?: number;
  /** Versions published longer ago than this are removed. */
  olderThanMs?: number;
  /** Never removed, and not counted against `keep`. */
  protect: Protected[];
}

export interface Protected {
  /** Absent for driver versions, which have no package name. */
  name?: string;
  version: string;
}

export function hasRule(p: RetentionPolicy): boolean {
  return p.keep !== undefined || p.maxSize !== undefined || p.olderThanMs !== undefined;
}

export function parseKeep(text: string | number): number {
  const n = typeof text === 'number' ? text : /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`keep must be a whole number of at least 1, not "${text}"`);
  return n;
}

// Decimal units as disks and buckets are sold, binary ones as `du -h` shows them; bare numbers are bytes.
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

export function parseSize(text: string | number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(String(text));
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined)
    throw new RangeError(
      `max size must be a number of bytes with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), like 10GB, not "${text}"`,
    );
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new RangeError(`max size must be at least 1 byte, not "${text}"`);
  return bytes;
}

const AGE_UNITS: Record<string, number> = {
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

export function parseAge(text: string): number {
  const m = /^\s*(\d+)\s*([mhdw])\s*$/.exec(text);
  const ms = m ? Number(m[1]) * AGE_UNITS[m[2]!]! : Number.NaN;
  if (!m || !Number.isSafeInteger(ms) || ms < 1)
    throw new RangeError(
      `older than takes a whole number and a unit (m minutes, h hours, d days, w weeks), like 30d or 12h, not "${text}"`,
    );
  return ms;
}

/** `NAME=VERSION` for packages; a bare `VERSION` only where there are no names (drivers). */
export function parseProtect(text: string, named = true): Protected {
  if (!named) {
    if (text.trim() === '' || /\s/.test(text))
      throw new RangeError(`protect takes a driver version, not "${text}"`);
    return { version: text };
  }
  const at = text.indexOf('=');
  const name = text.slice(0, Math.max(at, 0));
  const version = text.slice(at + 1);
  if (at <= 0 || version === '' || /\s/.test(text))
    throw new RangeError(`protect takes NAME=VERSION (like falco=0.38.1), not "${text}"`);
  return { name, version };
}
