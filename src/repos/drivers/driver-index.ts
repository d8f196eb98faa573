import type { DriverArtifact } from '../../artifacts/types.js';
import { StorageError } from '../../errors.js';
import { Utf8Sink } from '../../site/utf8-sink.js';

/**
 * The per-version driver index, in the shape Falco's driver site reads
 * (`driver/site/<driver_version>.json`). `kernel` is `<kernelrelease>_<kernelversion>` as the
 * site shows it; the two halves, and the sha256, are kept as fields of their own because the
 * combined form cannot be split back reliably (both halves may hold `_`).
 */
export interface DriverEntry {
  lib: string;
  arch: string;
  kind: 'kmod' | 'ebpf';
  kernel: string;
  kernelrelease: string;
  kernelversion: string;
  target: string;
  name: string;
  download: string;
  sizebytes: number;
  size: string;
  lastmodified: string;
  sha256: string;
}

export interface DriverVersionDoc {
  date: string;
  index: { lib: string[]; arch: string[]; kind: string[]; target: string[] };
  drivers: DriverEntry[];
}

/** One entry per published file: the file's key below the version folder. */
export function entryKey(e: Pick<DriverEntry, 'arch' | 'name'>): string {
  return `${e.arch}/${e.name}`;
}

function distinctSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The version index's bytes, drivers in a stable order (by file name, then arch) so equal
 * contents give equal bytes. Encoded a driver at a time: a 100k-driver index is never held as
 * lines, a joined string and bytes at once.
 */
export function encodeDriverVersionDoc(date: string, entries: Iterable<DriverEntry>): Uint8Array {
  return encodePendingDoc(date, entries, () => {
    throw new Error('unreachable: every entry is built');
  });
}

/**
 * The same bytes from published entries mixed with new driver files whose entries are not built
 * yet: each new one becomes its DriverEntry only while it is written, so a 100,000-driver
 * publish never holds 100,000 entries beside the artifacts they are made from.
 */
export function encodePendingDoc(
  date: string,
  items: Iterable<DriverEntry | DriverArtifact>,
  entryOf: (d: DriverArtifact) => DriverEntry,
): Uint8Array {
  const drivers = [...items].sort((a, b) => cmp(nameOf(a), nameOf(b)) || cmp(a.arch, b.arch));
  const out = new Utf8Sink(256 + drivers.length * 1024);
  out.write(`${JSON.stringify({ date, index: indexOf(drivers) }).slice(0, -1)},"drivers":[\n`);
  // One driver per line: compact enough for 100k drivers, and diffs of two publishes stay readable.
  drivers.forEach((d, i) => {
    if (i > 0) out.write(',\n');
    out.write(JSON.stringify(d.kind === 'driver' ? entryOf(d) : d));
  });
  out.write('\n]}\n');
  return out.bytes();
}

function nameOf(d: DriverEntry | DriverArtifact): string {
  return d.kind === 'driver' ? d.fileName : d.name;
}

const STRING_FIELDS = [
  'lib',
  'arch',
  'kernel',
  'target',
  'name',
  'download',
  'size',
  'lastmodified',
] as const;

/**
 * Reads a published version index back. Entries written by older tools may lack the extra
 * fields (kernelrelease, kernelversion, sha256); those are kept as far as they go, with the
 * sha256 left empty so any republish of that file is treated as a change, never silently equal.
 */
export function parseDriverVersionDoc(text: string, where: string): DriverVersionDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StorageError(`${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const bad = (why: string) => new StorageError(`${where} does not have the driver index shape: ${why}`);
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { drivers?: unknown }).drivers))
    throw bad('no "drivers" array');
  const obj = raw as { date?: unknown; drivers: unknown[] };
  const drivers: DriverEntry[] = obj.drivers.map((d, i) => {
    if (typeof d !== 'object' || d === null) throw bad(`drivers[${i}] is not an object`);
    const e = d as Record<string, unknown>;
    for (const f of STRING_FIELDS)
      if (typeof e[f] !== 'string') throw bad(`drivers[${i}].${f} is not a string`);
    if (e.kind !== 'kmod' && e.kind !== 'ebpf') throw bad(`drivers[${i}].kind is not kmod or ebpf`);
    if (typeof e.sizebytes !== 'number') throw bad(`drivers[${i}].sizebytes is not a number`);
    // An entry this tool wrote is kept as parsed: a 100k-driver index is not copied object by object.
    if (isCanonical(e)) return e as unknown as DriverEntry;
    const kernel = e.kernel as string;
    const cut = kernel.lastIndexOf('_');
    return {
      lib: e.lib as string,
      arch: e.arch as string,
      kind: e.kind,
      kernel,
      kernelrelease:
        typeof e.kernelrelease === 'string' ? e.kernelrelease : kernel.slice(0, Math.max(cut, 0)),
      kernelversion: typeof e.kernelversion === 'string' ? e.kernelversion : kernel.slice(cut + 1),
      target: e.target as string,
      name: e.name as string,
      download: e.download as string,
      sizebytes: e.sizebytes,
      size: e.size as string,
      lastmodified: e.lastmodified as string,
      sha256: typeof e.sha256 === 'string' ? e.sha256 : '',
    };
  });
  const date = typeof obj.date === 'string' ? obj.date : '';
  return {
    date,
    index: indexOf(drivers),
    drivers,
  };
}

/** DriverEntry's fields in the order entries are written; JSON.stringify keeps an object's order. */
const ENTRY_FIELDS = [
  'lib',
  'arch',
  'kind',
  'kernel',
  'kernelrelease',
  'kernelversion',
  'target',
  'name',
  'download',
  'sizebytes',
  'size',
  'lastmodified',
  'sha256',
] as const;

/** Exactly the DriverEntry fields, in order, with the types the caller has not checked yet. */
function isCanonical(e: Record<string, unknown>): boolean {
  let i = 0;
  for (const k in e) if (k !== ENTRY_FIELDS[i++]) return false;
  return (
    i === ENTRY_FIELDS.length &&
    typeof e.kernelrelease === 'string' &&
    typeof e.kernelversion === 'string' &&
    typeof e.sha256 === 'string'
  );
}

/** `driver/site/index.json`: the driver versions, newest first. */
export function parseVersionList(text: string, where: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StorageError(`${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string'))
    throw new StorageError(`${where} is not a JSON array of driver versions`);
  return raw as string[];
}

export function renderVersionList(versions: string[]): string {
  return `${JSON.stringify(versions)}\n`;
}

/** The filter values a driver browser offers: every distinct lib, arch, kind and target, sorted. */
function indexOf(drivers: (DriverEntry | DriverArtifact)[]): DriverVersionDoc['index'] {
  return {
    lib: distinctSorted(drivers.map((d) => (d.kind === 'driver' ? d.driverVersion : d.lib))),
    arch: distinctSorted(drivers.map((d) => d.arch)),
    kind: distinctSorted(drivers.map((d) => (d.kind === 'driver' ? d.driverKind : d.kind))),
    target: distinctSorted(drivers.map((d) => d.target)),
  };
}
