const NL = 0x0a;
const COMMA = 0x2c;
const CLOSE = ']}';

/** JSON whitespace: the only bytes allowed after the closing line. */
function isJsonSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/**
 * Reads a JSON object laid out as pkgpub writes its big indexes (a driver version json, a
 * listing.json): `{<fields>,"<key>":[` on the first line, one array item per line with a comma
 * after all but the last, then `]}`. Each line is decoded and parsed on its own, so a 50 MB
 * document is never one 50 MB string beside its bytes and its parsed items.
 *
 * Gives the object JSON.parse would give for the whole text, or undefined when the bytes are laid
 * out any other way (another tool, a hand edit, invalid JSON): the caller then parses the whole
 * text. A document this accepts is exactly the concatenation of the parts parsed here.
 */
export function parseLinedDocument(bytes: Uint8Array, key: string): Record<string, unknown> | undefined {
  const text = new TextDecoder();
  const first = bytes.indexOf(NL);
  if (first < 0) return undefined;
  // Decoding drops a byte order mark at the start, as decoding the whole document would.
  const headLine = text.decode(bytes.subarray(0, first));
  if (!headLine.endsWith(`,${JSON.stringify(key)}:[`)) return undefined;
  // The array parses empty here, in the place the whole document has it; its items go in below.
  let doc: unknown;
  try {
    doc = JSON.parse(`${headLine}${CLOSE}`);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const items = (doc as Record<string, unknown>)[key];
  if (!Array.isArray(items) || items.length > 0) return undefined;

  let expectMore = true;
  for (let at = first + 1; at <= bytes.length; ) {
    const nl = bytes.indexOf(NL, at);
    const end = nl < 0 ? bytes.length : nl;
    const line = bytes.subarray(at, end);
    at = end + 1;
    if (line.length === 2 && line[0] === CLOSE.charCodeAt(0) && line[1] === CLOSE.charCodeAt(1)) {
      // `[` then `]}` is an empty array; after an item, only the last one (no comma) may close it.
      if (expectMore && items.length > 0) return undefined;
      for (let i = at; i < bytes.length; i++) if (!isJsonSpace(bytes[i]!)) return undefined;
      return doc as Record<string, unknown>;
    }
    // After the item without a comma only the closing line may come. A line starting 0xEF could
    // begin with a byte order mark, which decoding the line alone would drop and the whole would not.
    if (!expectMore || line.length === 0 || line[0] === 0xef) return undefined;
    expectMore = line[line.length - 1] === COMMA;
    try {
      items.push(JSON.parse(text.decode(expectMore ? line.subarray(0, -1) : line)));
    } catch {
      return undefined;
    }
  }
  return undefined;
}
