/**
 * The Unix `ar` archive as .deb uses it: "!<arch>\n", then members of a 60-byte header, the data,
 * and one padding byte after odd-sized data. Push-based so a caller can hash and parse the same
 * chunks in one pass; memory is the 60-byte header buffer whatever the member sizes.
 */

export const AR_MAGIC = '!<arch>\n';
const MAGIC_BYTES = new TextEncoder().encode(AR_MAGIC);
const HEADER_SIZE = 60;
const NAME_SIZE = 16;
const FMAG = '`\n';

export class ArError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArError';
  }
}

export interface ArMemberHeader {
  /** The name with the GNU trailing "/" and the space padding removed (e.g. "control.tar.gz"). */
  name: string;
  mtime: number;
  uid: number;
  gid: number;
  mode: number;
  size: number;
  /** Where the member's data starts in the archive. */
  dataOffset: number;
}

export interface ArHandlers {
  onMember?(header: ArMemberHeader): void;
  /** A slice of the member's data: a view into the pushed chunk, valid as long as that chunk is. */
  onData?(header: ArMemberHeader, chunk: Uint8Array): void;
  onMemberEnd?(header: ArMemberHeader): void;
}

type State = 'magic' | 'header' | 'data' | 'pad';

export class ArParser {
  private state: State = 'magic';
  private readonly headerBuf = new Uint8Array(HEADER_SIZE);
  private filled = 0;
  private member: ArMemberHeader | undefined;
  private remaining = 0;
  private pos = 0;
  private failure: ArError | undefined;

  constructor(private readonly handlers: ArHandlers = {}) {}

  /** Bytes consumed so far. */
  get offset(): number {
    return this.pos;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    try {
      this.consume(chunk);
    } catch (err) {
      if (err instanceof ArError) this.failure = err;
      throw err;
    }
  }

  /** Declares end of input: throws unless the archive stopped cleanly between two members. */
  end(): void {
    if (this.failure) throw this.failure;
    const fail = (msg: string): never => {
      this.failure = new ArError(msg);
      throw this.failure;
    };
    switch (this.state) {
      case 'magic':
        fail(this.pos === 0 ? 'empty input, not an ar archive' : 'truncated: input ends inside the ar magic');
        break;
      case 'header':
        if (this.filled > 0)
          fail(`truncated: input ends inside a member header at offset ${this.pos - this.filled}`);
        break;
      case 'data': {
        const m = this.member!;
        fail(
          `truncated: input ends inside member "${m.name}" (${m.size - this.remaining} of ${m.size} bytes)`,
        );
        break;
      }
      case 'pad':
        fail(`truncated: input ends before the padding byte after member "${this.member!.name}"`);
        break;
    }
  }

  private consume(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'magic': {
          const n = Math.min(MAGIC_BYTES.length - this.filled, chunk.length - i);
          for (let k = 0; k < n; k++) {
            if (chunk[i + k] !== MAGIC_BYTES[this.filled + k]) {
              throw new ArError('not an ar archive (wrong magic, expected "!<arch>\\n")');
            }
          }
          this.filled += n;
          i += n;
          this.pos += n;
          if (this.filled === MAGIC_BYTES.length) {
            this.filled = 0;
            this.state = 'header';
          }
          break;
        }
        case 'header': {
          const n = Math.min(HEADER_SIZE - this.filled, chunk.length - i);
          this.headerBuf.set(chunk.subarray(i, i + n), this.filled);
          this.filled += n;
          i += n;
          this.pos += n;
          if (this.filled === HEADER_SIZE) {
            this.filled = 0;
            const header = parseHeader(this.headerBuf, this.pos - HEADER_SIZE);
            this.member = header;
            this.remaining = header.size;
            this.handlers.onMember?.(header);
            if (header.size === 0) this.finishData();
            else this.state = 'data';
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - i);
          this.handlers.onData?.(this.member!, chunk.subarray(i, i + n));
          this.remaining -= n;
          i += n;
          this.pos += n;
          if (this.remaining === 0) this.finishData();
          break;
        }
        case 'pad':
          // The padding byte is "\n" by convention; readers (dpkg, binutils) do not insist on it.
          i += 1;
          this.pos += 1;
          this.state = 'header';
          break;
      }
    }
  }

  private finishData(): void {
    const m = this.member!;
    this.handlers.onMemberEnd?.(m);
    this.state = m.size % 2 === 1 ? 'pad' : 'header';
  }
}

function ascii(bytes: Uint8Array, start: number, len: number): string {
  let s = '';
  for (let k = start; k < start + len; k++) s += String.fromCharCode(bytes[k]!);
  return s;
}

function parseNumber(field: string, radix: 8 | 10, what: string, offset: number): number {
  const t = field.replace(/ +$/, '');
  if (t === '') return 0;
  const ok = radix === 10 ? /^[0-9]+$/.test(t) : /^[0-7]+$/.test(t);
  if (!ok) throw new ArError(`bad member header at offset ${offset}: ${what} field ${JSON.stringify(field)}`);
  return Number.parseInt(t, radix);
}

/** Names are plain file names: anything that could act as a path is refused outright. */
export function checkMemberName(name: string): string | undefined {
  if (name === '') return 'empty member name';
  if (name.includes('/') || name.includes('\\'))
    return `unsafe member name ${JSON.stringify(name)} (contains a path separator)`;
  if (name === '.' || name === '..') return `unsafe member name ${JSON.stringify(name)}`;
  if (/[\x00-\x1f\x7f]/.test(name)) return `bad member name ${JSON.stringify(name)} (control character)`;
  return undefined;
}

function parseHeader(buf: Uint8Array, offset: number): ArMemberHeader {
  if (ascii(buf, 58, 2) !== FMAG) {
    throw new ArError(`bad member header at offset ${offset} (missing the "\`\\n" terminator)`);
  }
  const rawName = ascii(buf, 0, NAME_SIZE).replace(/ +$/, '');
  // GNU ar ends names with "/"; "/" and "//" alone (symbol and long-name tables) are not plain names.
  const name = rawName.endsWith('/') && rawName.length > 1 ? rawName.slice(0, -1) : rawName;
  const problem = checkMemberName(name);
  if (problem) throw new ArError(`${problem} at offset ${offset}`);
  return {
    name,
    mtime: parseNumber(ascii(buf, 16, 12), 10, 'mtime', offset),
    uid: parseNumber(ascii(buf, 28, 6), 10, 'uid', offset),
    gid: parseNumber(ascii(buf, 34, 6), 10, 'gid', offset),
    mode: parseNumber(ascii(buf, 40, 8), 8, 'mode', offset),
    size: parseNumber(ascii(buf, 48, 10), 10, 'size', offset),
    dataOffset: offset + HEADER_SIZE,
  };
}

export interface ArMemberInput {
  /** Written as given (no "/" added), so tests can also build archives with hostile names. */
  name: string;
  data: Uint8Array;
  mtime?: number;
  uid?: number;
  gid?: number;
  mode?: number;
}

function field(value: string, width: number, what: string): string {
  if (value.length > width)
    throw new ArError(`${what} ${JSON.stringify(value)} does not fit in ${width} bytes`);
  return value.padEnd(width, ' ');
}

/** Writes an ar archive in memory, in the layout dpkg-deb produces. */
export function encodeAr(members: ArMemberInput[]): Uint8Array {
  let total = MAGIC_BYTES.length;
  for (const m of members) total += HEADER_SIZE + m.data.length + (m.data.length % 2);
  const out = new Uint8Array(total);
  out.set(MAGIC_BYTES, 0);
  let pos = MAGIC_BYTES.length;
  const enc = new TextEncoder();
  for (const m of members) {
    const header =
      field(m.name, NAME_SIZE, 'name') +
      field(String(m.mtime ?? 0), 12, 'mtime') +
      field(String(m.uid ?? 0), 6, 'uid') +
      field(String(m.gid ?? 0), 6, 'gid') +
      field((m.mode ?? 0o100644).toString(8), 8, 'mode') +
      field(String(m.data.length), 10, 'size') +
      FMAG;
    const bytes = enc.encode(header);
    if (bytes.length !== HEADER_SIZE) throw new ArError(`name ${JSON.stringify(m.name)} is not ASCII`);
    out.set(bytes, pos);
    pos += HEADER_SIZE;
    out.set(m.data, pos);
    pos += m.data.length;
    if (m.data.length % 2 === 1) out[pos++] = 0x0a;
  }
  return out;
}
