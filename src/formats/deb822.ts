/**
 * deb822 control data (a .deb's control file, Packages indexes): paragraphs of "Name: value"
 * fields with continuation lines. Parsing keeps field order and the exact bytes of every value so
 * formatParagraph reproduces a control file byte for byte; the one thing not kept is how many
 * spaces followed the colon on the first line when it was not exactly one (or none before an
 * empty first line), which dpkg itself does not preserve either.
 */
import type { ControlField, ControlParagraph } from '../artifacts/types.js';

export class Deb822Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Deb822Error';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Control data is UTF-8 by policy; anything else is refused rather than guessed. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    if (at === undefined) throw new Deb822Error('not valid UTF-8');
    let line = 1;
    for (let k = 0; k < at; k++) if (bytes[k] === 0x0a) line++;
    const hex = bytes[at]!.toString(16).padStart(2, '0');
    throw new Deb822Error(`not valid UTF-8 (byte 0x${hex} on line ${line}, offset ${at})`);
  }
}

/** Offset of the first byte that starts no valid UTF-8 sequence (overlongs and surrogates included). */
function firstInvalidUtf8(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let len: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [len, min] = [2, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [len, min] = [3, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [len, min] = [4, 0x10000];
    else return i;
    if (i + len > bytes.length) return i;
    let cp = b & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return undefined;
}

// Policy 5.1: printable US-ASCII except ":" and space, not starting with "#" or "-".
const FIELD_NAME = /^[!-9;-~]+$/;

function isBlank(line: string): boolean {
  return /^[ \t]*$/.test(line);
}

/** Parses every paragraph; blank (or whitespace-only) lines separate them. */
export function parseParagraphs(text: string): ControlParagraph[] {
  const lines = text.split('\n');
  // A final newline leaves an empty last element that is not a line of its own.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const paragraphs: ControlParagraph[] = [];
  let current: ControlField[] | undefined;
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (isBlank(line)) {
      if (current) paragraphs.push(current);
      current = undefined;
      seen.clear();
      return;
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      const last = current?.[current.length - 1];
      if (!last) throw new Deb822Error(`line ${lineNo}: continuation line outside a field`);
      last.value += `\n${line}`;
      return;
    }
    const colon = line.indexOf(':');
    if (colon < 0)
      throw new Deb822Error(`line ${lineNo}: expected "Name: value", got ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    if (!FIELD_NAME.test(name) || name.startsWith('#') || name.startsWith('-')) {
      throw new Deb822Error(`line ${lineNo}: bad field name ${JSON.stringify(name)}`);
    }
    const key = name.toLowerCase();
    if (seen.has(key)) throw new Deb822Error(`line ${lineNo}: duplicate field "${name}"`);
    seen.add(key);
    let value = line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (!current) current = [];
    current.push({ name, value });
  });
  if (current) paragraphs.push(current);
  return paragraphs;
}

/** A .deb control file: exactly one paragraph. */
export function parseControl(input: string | Uint8Array): ControlParagraph {
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  const paragraphs = parseParagraphs(text);
  if (paragraphs.length === 0) throw new Deb822Error('no fields');
  if (paragraphs.length > 1) throw new Deb822Error(`${paragraphs.length} paragraphs, expected one`);
  return paragraphs[0]!;
}

function formatField(f: ControlField): string {
  // An empty first line (a value that starts on the next line) is written "Name:" with no space.
  return f.value === '' || f.value.startsWith('\n') ? `${f.name}:${f.value}\n` : `${f.name}: ${f.value}\n`;
}

/** One paragraph, every line ending in "\n". */
export function formatParagraph(p: ControlParagraph): string {
  return p.map(formatField).join('');
}

/** Each paragraph followed by one blank line, the last one too, as apt-ftparchive writes Packages. */
export function formatParagraphs(ps: ControlParagraph[]): string {
  return ps.map((p) => `${formatParagraph(p)}\n`).join('');
}

/** Field lookup, case-insensitive as deb822 field names are. */
export function getField(p: ControlParagraph, name: string): string | undefined {
  const key = name.toLowerCase();
  return p.find((f) => f.name.toLowerCase() === key)?.value;
}
