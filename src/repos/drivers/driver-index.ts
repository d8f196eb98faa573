import type { DriverArtifact } from '../../artifacts/types.js';
import { StorageError } from '../../errors.js';
import { parseLinedDocument } from '../../formats/lined-json.js';
import type { TextSink } from '../../model/text-output.js';
import { Utf8Sink } from '../../model/utf8-sink.js';
import { compareDrivers, type DriverItem } from './driver-order.js';

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

/**
 * The version index's bytes, drivers in a stable order (by file name, then arch) so equal
 * contents give equal bytes.
 */
export function encodeDriverVersionDoc(date: string, entries: Iterable<DriverEntry>): Uint8Array {
  const sorted = [...entries].sort(compareDrivers);
  const out = new Utf8Sink(256 + sorted.length * 1024);
  encodePendingDoc(
    out,
    date,
    () => sorted,
    () => {
      throw new Error('unreachable: every entry is built');
    },
  );
  return out.bytes();
}

/**
 * The same document from published entries mixed with new driver files whose entries are not
 * built yet, written a driver at a time into `out`: each new one becomes its DriverEntry only
 * while it is written, so a 100,000-driver publish never holds 100,000 entries beside the
 * artifacts they are made from, nor the ~50 MB document (a spilled output goes to a file as it is
 * written). `items` gives the drivers in index order, once for the filter values and once for the lines.
 */
export function encodePendingDoc(
  out: TextSink,
  date: string,
  items: () => Iterable<DriverItem>,
  entryOf: (d: DriverArtifact) => DriverEntry,
): void {
  out.write(`${JSON.stringify({ date, index: indexOf(items()) }).slice(0, -1)},"drivers":[\n`);
  // One driver per line: compact enough for 100k drivers, and diffs of two publishes stay readable.
  let first = true;
  for (const d of items()) {
    if (!first) out.write(',\n');
    first = false;
    out.write(JSON.stringify(d.kind === 'driver' ? entryOf(d) : d));
  }
  out.write('\n]}\n');
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
 * An index laid out as this tool writes it is parsed line by line (a 100,000-driver one is ~50 MB).
 */
export function parseDriverVersionDoc(bytes: Uint8Array, where: string): DriverVersionDoc {
  const bad = (why: string) => new StorageError(`${where} does not have the driver index shape: ${why}`);
  let raw: unknown = parseLinedDocument(bytes, 'drivers');
  if (!raw) {
    try {
      raw = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new StorageError(`${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { drivers?: unknown }).drivers))
    throw bad('no "drivers" array');
  const { date, drivers: items } = raw as { date?: unknown; drivers: unknown[] };
  // Values many entries share (the version, a target, the time of a publish) are kept once.
  const shared = new Map<string, string>();
  const once = (s: string): string => {
    const known = shared.get(s);
    if (known !== undefined) return known;
    shared.set(s, s);
    return s;
  };
  // Checked and replaced in place: a 100k-driver index is not copied into a second array.
  items.forEach((d, i) => {
    if (typeof d !== 'object' || d === null) throw bad(`drivers[${i}] is not an object`);
    const e = d as Record<string, unknown>;
    for (const f of STRING_FIELDS)
      if (typeof e[f] !== 'string') throw bad(`drivers[${i}].${f} is not a string`);
    if (e.kind !== 'kmod' && e.kind !== 'ebpf') throw bad(`drivers[${i}].kind is not kmod or ebpf`);
    if (typeof e.sizebytes !== 'number') throw bad(`drivers[${i}].sizebytes is not a number`);
    // An entry this tool wrote is kept as parsed, not copied field by field.
    if (isCanonical(e)) {
      e.lib = once(e.lib as string);
      e.target = once(e.target as string);
      e.lastmodified = once(e.lastmodified as string);
      return;
    }
    const kernel = e.kernel as string;
    const cut = kernel.lastIndexOf('_');
    items[i] = {
      lib: once(e.lib as string),
      arch: e.arch as string,
      kind: e.kind,
      kernel,
      kernelrelease:
        typeof e.kernelrelease === 'string' ? e.kernelrelease : kernel.slice(0, Math.max(cut, 0)),
      kernelversion: typeof e.kernelversion === 'string' ? e.kernelversion : kernel.slice(cut + 1),
      target: once(e.target as string),
      name: e.name as string,
      download: e.download as string,
      sizebytes: e.sizebytes,
      size: e.size as string,
      lastmodified: once(e.lastmodified as string),
      sha256: typeof e.sha256 === 'string' ? e.sha256 : '',
    } satisfies DriverEntry;
  });
  const drivers = items as DriverEntry[];
  return {
    date: typeof date === 'string' ? date : '',
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
function indexOf(drivers: Iterable<DriverItem>): DriverVersionDoc['index'] {
  const lib = new Set<string>();
  const arch = new Set<string>();
  const kind = new Set<string>();
  const target = new Set<string>();
  for (const d of drivers) {
    lib.add(d.kind === 'driver' ? d.driverVersion : d.lib);
    arch.add(d.arch);
    kind.add(d.kind === 'driver' ? d.driverKind : d.kind);
    target.add(d.target);
  }
  return { lib: [...lib].sort(), arch: [...arch].sort(), kind: [...kind].sort(), target: [...target].sort() };
}
