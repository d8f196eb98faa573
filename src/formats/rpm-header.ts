/**
 * The rpm file's binary structures, with no I/O: the 96-byte lead and the header structure used
 * for both the signature header and the main header. Parsing checks every count and offset
 * against the bytes actually present before touching them, so a hostile file costs at most the
 * bytes it really has. Encoding produces the same layout rpm writes (index sorted by tag, data
 * in index order with natural alignment, region trailer last), so a re-signed signature header
 * round-trips byte for byte.
 */

/** Tag numbers from rpm's rpmtag.h (rpmTag_e). */
export const RPMTAG = {
  HEADERSIGNATURES: 62,
  HEADERIMMUTABLE: 63,
  HEADERI18NTABLE: 100,
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  DESCRIPTION: 1005,
  BUILDTIME: 1006,
  BUILDHOST: 1007,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  PACKAGER: 1015,
  GROUP: 1016,
  URL: 1020,
  OS: 1021,
  ARCH: 1022,
  OLDFILENAMES: 1027,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  SOURCERPM: 1044,
  ARCHIVESIZE: 1046,
  PROVIDENAME: 1047,
  REQUIREFLAGS: 1048,
  REQUIRENAME: 1049,
  REQUIREVERSION: 1050,
  CONFLICTFLAGS: 1053,
  CONFLICTNAME: 1054,
  CONFLICTVERSION: 1055,
  CHANGELOGTIME: 1080,
  CHANGELOGNAME: 1081,
  CHANGELOGTEXT: 1082,
  OBSOLETENAME: 1090,
  SOURCEPACKAGE: 1106,
  PROVIDEFLAGS: 1112,
  PROVIDEVERSION: 1113,
  OBSOLETEFLAGS: 1114,
  OBSOLETEVERSION: 1115,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  LONGSIZE: 5009,
  RECOMMENDNAME: 5046,
  RECOMMENDVERSION: 5047,
  RECOMMENDFLAGS: 5048,
  SUGGESTNAME: 5049,
  SUGGESTVERSION: 5050,
  SUGGESTFLAGS: 5051,
  SUPPLEMENTNAME: 5052,
  SUPPLEMENTVERSION: 5053,
  SUPPLEMENTFLAGS: 5054,
  ENHANCENAME: 5055,
  ENHANCEVERSION: 5056,
  ENHANCEFLAGS: 5057,
} as const;

/** Signature header tags (rpmSigTag_e in rpmtag.h). */
export const RPMSIGTAG = {
  SIZE: 1000,
  PGP: 1002,
  MD5: 1004,
  GPG: 1005,
  PAYLOADSIZE: 1007,
  RESERVEDSPACE: 1008,
  DSA: 267,
  RSA: 268,
  SHA1: 269,
  LONGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256: 273,
  /** rpm 6: header-only OpenPGP signatures as a string array (base64 packets). */
  OPENPGP: 278,
} as const;

/** Data types (rpmTagType_e). */
export const RPM_TYPE = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;
export type RpmType = (typeof RPM_TYPE)[keyof typeof RPM_TYPE];

export const LEAD_SIZE = 96;
export const LEAD_MAGIC = Uint8Array.of(0xed, 0xab, 0xee, 0xdb);
export const HEADER_MAGIC = Uint8Array.of(0x8e, 0xad, 0xe8, 0x01);
/** Magic (4) + reserved (4) + index count (4) + data length (4). */
export const HEADER_PREAMBLE_SIZE = 16;
const ENTRY_SIZE = 16;
/** rpm itself refuses headers past 256 MiB; real ones are a few MiB at most. */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;
export const MAX_INDEX_ENTRIES = 1 << 20;
/** The lead's signature_type for "a header-structure signature follows". */
const RPMSIGTYPE_HEADERSIG = 5;

/** A structural problem in rpm bytes; callers wrap it with the file name. */
export class RpmFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RpmFormatError';
  }
}

export interface RpmLead {
  major: number;
  minor: number;
  /** 0 binary, 1 source. */
  type: number;
  archNum: number;
  /** NEVR as the builder wrote it into the lead (informational; the header is authoritative). */
  name: string;
  osNum: number;
  signatureType: number;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function hasMagic(buf: Uint8Array, at: number, magic: Uint8Array): boolean {
  for (let i = 0; i < magic.length; i++) if (buf[at + i] !== magic[i]) return false;
  return true;
}

export function parseLead(buf: Uint8Array): RpmLead {
  if (buf.length < LEAD_SIZE) throw new RpmFormatError(`truncated lead (${buf.length} of 96 bytes)`);
  if (!hasMagic(buf, 0, LEAD_MAGIC)) throw new RpmFormatError('not an rpm file (bad lead magic)');
  const dv = view(buf);
  const major = buf[4]!;
  if (major !== 3 && major !== 4) throw new RpmFormatError(`unsupported rpm format version ${major}`);
  const nameBytes = buf.subarray(10, 76);
  const nul = nameBytes.indexOf(0);
  const signatureType = dv.getUint16(78);
  if (signatureType !== RPMSIGTYPE_HEADERSIG)
    throw new RpmFormatError(`unsupported signature type ${signatureType} in lead (expected 5)`);
  return {
    major,
    minor: buf[5]!,
    type: dv.getUint16(6),
    archNum: dv.getUint16(8),
    name: new TextDecoder().decode(nul < 0 ? nameBytes : nameBytes.subarray(0, nul)),
    osNum: dv.getUint16(76),
    signatureType,
  };
}

export interface HeaderPreamble {
  indexCount: number;
  dataLength: number;
  /** Bytes of the whole header structure: preamble + index + data. */
  byteLength: number;
}

/**
 * Reads the 16-byte preamble at `offset` and checks the sizes it claims against the limits, so
 * a streaming reader knows how many bytes to buffer before trusting them.
 */
export function readHeaderPreamble(buf: Uint8Array, offset = 0): HeaderPreamble {
  if (buf.length - offset < HEADER_PREAMBLE_SIZE) throw new RpmFormatError('truncated header preamble');
  if (!hasMagic(buf, offset, HEADER_MAGIC)) throw new RpmFormatError('bad header magic');
  const dv = view(buf);
  const indexCount = dv.getUint32(offset + 8);
  const dataLength = dv.getUint32(offset + 12);
  if (indexCount === 0) throw new RpmFormatError('header has no index entries');
  if (indexCount > MAX_INDEX_ENTRIES)
    throw new RpmFormatError(`header index count ${indexCount} exceeds the limit of ${MAX_INDEX_ENTRIES}`);
  const byteLength = HEADER_PREAMBLE_SIZE + indexCount * ENTRY_SIZE + dataLength;
  if (byteLength > MAX_HEADER_BYTES)
    throw new RpmFormatError(`header size ${byteLength} bytes exceeds the limit of ${MAX_HEADER_BYTES}`);
  return { indexCount, dataLength, byteLength };
}

/** Bytes of zero padding rpm puts after the signature header so the main header starts 8-aligned. */
export function signaturePadding(signatureHeaderByteLength: number): number {
  return (8 - (signatureHeaderByteLength % 8)) % 8;
}

export interface RpmIndexEntry {
  tag: number;
  type: RpmType;
  /** Offset into the data store (signed: region trailers point backwards). */
  offset: number;
  count: number;
}

const FIXED_SIZE: Partial<Record<RpmType, number>> = {
  [RPM_TYPE.CHAR]: 1,
  [RPM_TYPE.INT8]: 1,
  [RPM_TYPE.INT16]: 2,
  [RPM_TYPE.INT32]: 4,
  [RPM_TYPE.INT64]: 8,
  [RPM_TYPE.BIN]: 1,
};

function isStringType(type: RpmType): boolean {
  return type === RPM_TYPE.STRING || type === RPM_TYPE.STRING_ARRAY || type === RPM_TYPE.I18NSTRING;
}

const utf8 = new TextDecoder('utf-8');

/** A parsed header: the index, the data store, and typed accessors that never read out of bounds. */
export class RpmHeader {
  readonly entries: readonly RpmIndexEntry[];
  readonly data: Uint8Array;
  /** Bytes of the header structure in the file (preamble + index + data). */
  readonly byteLength: number;
  private readonly byTag = new Map<number, RpmIndexEntry>();
  /** Data length of each entry, computed once during validation. */
  private readonly spans = new Map<RpmIndexEntry, number>();

  constructor(entries: RpmIndexEntry[], data: Uint8Array, spans: Map<RpmIndexEntry, number>) {
    this.entries = entries;
    this.data = data;
    this.byteLength = HEADER_PREAMBLE_SIZE + entries.length * ENTRY_SIZE + data.length;
    this.spans = spans;
    // First occurrence wins, as in rpm's sorted lookup of the first matching tag.
    for (const e of entries) if (!this.byTag.has(e.tag)) this.byTag.set(e.tag, e);
  }

  has(tag: number): boolean {
    return this.byTag.has(tag);
  }

  entry(tag: number): RpmIndexEntry | undefined {
    return this.byTag.get(tag);
  }

  /** The raw bytes of an entry's data. */
  raw(tag: number): Uint8Array | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    return this.data.subarray(e.offset, e.offset + this.spans.get(e)!);
  }

  /** STRING, or the first (untranslated) value of an I18NSTRING / STRING_ARRAY. */
  getString(tag: number): string | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    if (!isStringType(e.type)) throw new RpmFormatError(`tag ${tag} is type ${e.type}, not a string`);
    return this.strings(e, 1)[0];
  }

  getStrings(tag: number): string[] | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    if (!isStringType(e.type)) throw new RpmFormatError(`tag ${tag} is type ${e.type}, not a string array`);
    return this.strings(e, e.count);
  }

  /** Integer values of a CHAR/INT8/INT16/INT32/INT64 entry (unsigned, as rpm reads them). */
  getNumbers(tag: number): number[] | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    const dv = view(this.data);
    const out = new Array<number>(e.count);
    switch (e.type) {
      case RPM_TYPE.CHAR:
      case RPM_TYPE.INT8:
        for (let i = 0; i < e.count; i++) out[i] = this.data[e.offset + i]!;
        return out;
      case RPM_TYPE.INT16:
        for (let i = 0; i < e.count; i++) out[i] = dv.getUint16(e.offset + i * 2);
        return out;
      case RPM_TYPE.INT32:
        for (let i = 0; i < e.count; i++) out[i] = dv.getUint32(e.offset + i * 4);
        return out;
      case RPM_TYPE.INT64:
        for (let i = 0; i < e.count; i++) {
          const v = dv.getBigUint64(e.offset + i * 8);
          if (v > BigInt(Number.MAX_SAFE_INTEGER))
            throw new RpmFormatError(`tag ${tag} value ${v} is too large`);
          out[i] = Number(v);
        }
        return out;
      default:
        throw new RpmFormatError(`tag ${tag} is type ${e.type}, not an integer`);
    }
  }

  getNumber(tag: number): number | undefined {
    return this.getNumbers(tag)?.[0];
  }

  getBinary(tag: number): Uint8Array | undefined {
    const e = this.byTag.get(tag);
    if (!e) return undefined;
    if (e.type !== RPM_TYPE.BIN) throw new RpmFormatError(`tag ${tag} is type ${e.type}, not binary`);
    return this.data.subarray(e.offset, e.offset + e.count);
  }

  private strings(e: RpmIndexEntry, n: number): string[] {
    const out: string[] = [];
    let pos = e.offset;
    for (let i = 0; i < n; i++) {
      const end = this.data.indexOf(0, pos);
      out.push(utf8.decode(this.data.subarray(pos, end)));
      pos = end + 1;
    }
    return out;
  }

  /** Entries decoded back into encoder input, without the region tag (the encoder rebuilds it). */
  toInputs(): RpmEntryInput[] {
    const out: RpmEntryInput[] = [];
    for (const e of this.entries) {
      if (e.tag === RPMTAG.HEADERSIGNATURES || e.tag === RPMTAG.HEADERIMMUTABLE) continue;
      out.push(this.inputOf(e));
    }
    return out;
  }

  private inputOf(e: RpmIndexEntry): RpmEntryInput {
    switch (e.type) {
      case RPM_TYPE.STRING:
        return { tag: e.tag, type: e.type, value: this.strings(e, 1)[0]! };
      case RPM_TYPE.STRING_ARRAY:
      case RPM_TYPE.I18NSTRING:
        return { tag: e.tag, type: e.type, value: this.strings(e, e.count) };
      case RPM_TYPE.BIN:
        return { tag: e.tag, type: e.type, value: this.data.slice(e.offset, e.offset + e.count) };
      case RPM_TYPE.INT64: {
        const dv = view(this.data);
        const v: bigint[] = [];
        for (let i = 0; i < e.count; i++) v.push(dv.getBigUint64(e.offset + i * 8));
        return { tag: e.tag, type: e.type, value: v };
      }
      default:
        return { tag: e.tag, type: e.type as IntType, value: this.getNumbers(e.tag)! };
    }
  }

  /** Which region tag (62 or 63) opens this header, if any. */
  regionTag(): number | undefined {
    const first = this.entries[0];
    if (first && (first.tag === RPMTAG.HEADERSIGNATURES || first.tag === RPMTAG.HEADERIMMUTABLE))
      return first.tag;
    return undefined;
  }
}

/**
 * Parses the header structure starting at `offset`. Needs the whole structure in `buf`
 * (readHeaderPreamble says how long); every entry is checked before use: known type, non-zero
 * count, aligned, inside the data store, strings NUL-terminated inside it.
 */
export function parseHeader(buf: Uint8Array, offset = 0): RpmHeader {
  const pre = readHeaderPreamble(buf, offset);
  if (buf.length - offset < pre.byteLength)
    throw new RpmFormatError(
      `truncated header (needs ${pre.byteLength} bytes, ${buf.length - offset} available)`,
    );
  const dv = view(buf);
  const indexStart = offset + HEADER_PREAMBLE_SIZE;
  const dataStart = indexStart + pre.indexCount * ENTRY_SIZE;
  const data = buf.subarray(dataStart, dataStart + pre.dataLength);
  const entries: RpmIndexEntry[] = [];
  const spans = new Map<RpmIndexEntry, number>();
  for (let i = 0; i < pre.indexCount; i++) {
    const at = indexStart + i * ENTRY_SIZE;
    const tag = dv.getUint32(at);
    const type = dv.getUint32(at + 4);
    const off = dv.getInt32(at + 8);
    const count = dv.getUint32(at + 12);
    const where = `index entry ${i} (tag ${tag})`;
    if (type < RPM_TYPE.CHAR || type > RPM_TYPE.I18NSTRING)
      throw new RpmFormatError(`${where}: bad type ${type}`);
    if (count === 0) throw new RpmFormatError(`${where}: zero count`);
    if (off < 0 || off >= data.length)
      throw new RpmFormatError(`${where}: offset ${off} outside the ${data.length}-byte data store`);
    const entry: RpmIndexEntry = { tag, type: type as RpmType, offset: off, count };
    spans.set(entry, entrySpan(entry, data, where));
    entries.push(entry);
  }
  return new RpmHeader(entries, data, spans);
}

function entrySpan(e: RpmIndexEntry, data: Uint8Array, where: string): number {
  const size = FIXED_SIZE[e.type];
  if (size !== undefined) {
    if (e.offset % size !== 0)
      throw new RpmFormatError(`${where}: offset ${e.offset} not aligned for type ${e.type}`);
    const span = e.count * size;
    if (e.offset + span > data.length)
      throw new RpmFormatError(`${where}: ${e.count} values overrun the data store`);
    return span;
  }
  if (e.type === RPM_TYPE.STRING && e.count !== 1)
    throw new RpmFormatError(`${where}: STRING with count ${e.count}`);
  // Each string takes at least its NUL, so a count beyond the remaining bytes is rejected first.
  if (e.count > data.length - e.offset)
    throw new RpmFormatError(`${where}: ${e.count} strings overrun the data store`);
  let pos = e.offset;
  for (let i = 0; i < e.count; i++) {
    const end = data.indexOf(0, pos);
    if (end < 0) throw new RpmFormatError(`${where}: unterminated string`);
    pos = end + 1;
  }
  return pos - e.offset;
}

type IntType = typeof RPM_TYPE.CHAR | typeof RPM_TYPE.INT8 | typeof RPM_TYPE.INT16 | typeof RPM_TYPE.INT32;

/** One tag to encode. INT64 takes bigints so 64-bit sizes survive exactly. */
export type RpmEntryInput =
  | { tag: number; type: typeof RPM_TYPE.STRING; value: string }
  | { tag: number; type: typeof RPM_TYPE.STRING_ARRAY | typeof RPM_TYPE.I18NSTRING; value: string[] }
  | { tag: number; type: IntType; value: number[] }
  | { tag: number; type: typeof RPM_TYPE.INT64; value: bigint[] }
  | { tag: number; type: typeof RPM_TYPE.BIN; value: Uint8Array };

export interface EncodeOptions {
  /**
   * Region tag to wrap the entries in: 62 (HEADERSIGNATURES) for a signature header, 63
   * (HEADERIMMUTABLE) for a main header. rpm verifies signatures over the region, so a header
   * written without one is only good for tests.
   */
  region?: number;
}

const utf8enc = new TextEncoder();

/** Builds a header structure the way rpm lays it out. */
export function encodeHeader(inputs: readonly RpmEntryInput[], opts: EncodeOptions = {}): Uint8Array {
  const sorted = [...inputs].sort((a, b) => a.tag - b.tag);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i]!.tag === sorted[i - 1]!.tag) throw new RpmFormatError(`duplicate tag ${sorted[i]!.tag}`);
  const chunks: { bytes: Uint8Array; type: RpmType; count: number; tag: number }[] = sorted.map((e) => ({
    tag: e.tag,
    type: e.type,
    ...encodeValue(e),
  }));
  const indexCount = chunks.length + (opts.region === undefined ? 0 : 1);
  const index: RpmIndexEntry[] = [];
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const c of chunks) {
    const align = FIXED_SIZE[c.type] ?? 1;
    const pad = (align - (size % align)) % align;
    if (pad) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
    index.push({ tag: c.tag, type: c.type, offset: size, count: c.count });
    parts.push(c.bytes);
    size += c.bytes.length;
  }
  if (opts.region !== undefined) {
    const trailer = new Uint8Array(ENTRY_SIZE);
    writeEntry(view(trailer), 0, {
      tag: opts.region,
      type: RPM_TYPE.BIN,
      offset: -(indexCount * ENTRY_SIZE),
      count: ENTRY_SIZE,
    });
    index.unshift({ tag: opts.region, type: RPM_TYPE.BIN, offset: size, count: ENTRY_SIZE });
    parts.push(trailer);
    size += ENTRY_SIZE;
  }
  const total = HEADER_PREAMBLE_SIZE + indexCount * ENTRY_SIZE + size;
  if (total > MAX_HEADER_BYTES) throw new RpmFormatError(`encoded header of ${total} bytes is too large`);
  const out = new Uint8Array(total);
  const dv = view(out);
  out.set(HEADER_MAGIC, 0);
  dv.setUint32(8, indexCount);
  dv.setUint32(12, size);
  index.forEach((e, i) => {
    writeEntry(dv, HEADER_PREAMBLE_SIZE + i * ENTRY_SIZE, e);
  });
  let at = HEADER_PREAMBLE_SIZE + indexCount * ENTRY_SIZE;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function writeEntry(dv: DataView, at: number, e: RpmIndexEntry): void {
  dv.setUint32(at, e.tag);
  dv.setUint32(at + 4, e.type);
  dv.setInt32(at + 8, e.offset);
  dv.setUint32(at + 12, e.count);
}

function encodeValue(e: RpmEntryInput): { bytes: Uint8Array; count: number } {
  switch (e.type) {
    case RPM_TYPE.STRING:
      return { bytes: cString(e.value), count: 1 };
    case RPM_TYPE.STRING_ARRAY:
    case RPM_TYPE.I18NSTRING: {
      if (e.value.length === 0) throw new RpmFormatError(`tag ${e.tag}: empty string array`);
      const parts = e.value.map(cString);
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      return { bytes, count: e.value.length };
    }
    case RPM_TYPE.BIN:
      if (e.value.length === 0) throw new RpmFormatError(`tag ${e.tag}: empty binary value`);
      return { bytes: e.value, count: e.value.length };
    case RPM_TYPE.INT64: {
      const bytes = new Uint8Array(e.value.length * 8);
      const dv = view(bytes);
      e.value.forEach((v, i) => {
        dv.setBigUint64(i * 8, v);
      });
      return { bytes, count: nonEmpty(e.tag, e.value.length) };
    }
    default: {
      const size = FIXED_SIZE[e.type]!;
      const bytes = new Uint8Array(e.value.length * size);
      const dv = view(bytes);
      e.value.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v >= 2 ** (size * 8))
          throw new RpmFormatError(`tag ${e.tag}: value ${v} does not fit type ${e.type}`);
        if (size === 1) dv.setUint8(i, v);
        else if (size === 2) dv.setUint16(i * 2, v);
        else dv.setUint32(i * 4, v);
      });
      return { bytes, count: nonEmpty(e.tag, e.value.length) };
    }
  }
}

function nonEmpty(tag: number, n: number): number {
  if (n === 0) throw new RpmFormatError(`tag ${tag}: no values`);
  return n;
}

function cString(s: string): Uint8Array {
  const b = utf8enc.encode(s);
  if (b.includes(0)) throw new RpmFormatError('string contains a NUL byte');
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}
