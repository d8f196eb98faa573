/**
 * The little XML the repodata needs: escaping the way libxml2 serialises text and attributes
 * (which is what createrepo_c's output looks like), and a reader for flat elements with
 * attributes, enough for repomd.xml and for picking fields out of one <package> chunk.
 */

// XML 1.0 cannot carry C0 controls other than tab, LF and CR; createrepo_c drops them too.
const INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function escapeXmlText(s: string): string {
  return s.replace(INVALID, '').replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]!);
}

export function escapeXmlAttr(s: string): string {
  return s.replace(INVALID, '').replace(/[&<>"\r\n\t]/g, (c) => ATTR_ESCAPES[c]!);
}

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };
const ATTR_ESCAPES: Record<string, string> = {
  ...TEXT_ESCAPES,
  '"': '&quot;',
  '\n': '&#10;',
  '\t': '&#9;',
};

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Resolves the five named entities and numeric character references. */
export function unescapeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(Number.parseInt(ref.slice(1), 10));
    return NAMED[ref] ?? whole;
  });
}

/** One start tag with its attributes, the text up to the next tag, and where it sits. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  /** Unescaped text directly after the start tag (up to the next '<'). */
  text: string;
  start: number;
}

const ATTR = /([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"]*)"|'([^']*)')/g;

/**
 * Every start (or empty) tag in `xml`, in document order. Not a validating parser: it is for
 * documents whose shape is known (repodata), where elements never nest text and children.
 */
export function* xmlElements(xml: string, from = 0, to = xml.length): Generator<XmlElement> {
  let pos = xml.indexOf('<', from);
  while (pos >= 0 && pos < to) {
    const next = xml[pos + 1];
    if (next === '/' || next === '?' || next === '!') {
      pos = xml.indexOf('<', pos + 1);
      continue;
    }
    const close = xml.indexOf('>', pos);
    if (close < 0) throw new Error(`unterminated tag at offset ${pos}`);
    const body = xml.slice(pos + 1, xml[close - 1] === '/' ? close - 1 : close);
    const space = body.search(/\s/);
    const name = space < 0 ? body : body.slice(0, space);
    const attrs: Record<string, string> = {};
    if (space >= 0) {
      for (const m of body.slice(space).matchAll(ATTR)) attrs[m[1]!] = unescapeXml(m[3] ?? m[4] ?? '');
    }
    const after = xml.indexOf('<', close + 1);
    const textEnd = after < 0 ? xml.length : after;
    yield { name, attrs, text: unescapeXml(xml.slice(close + 1, textEnd)), start: pos };
    pos = after;
  }
}

/** The first element called `name` inside [from, to), if any. */
export function firstElement(xml: string, name: string, from = 0, to = xml.length): XmlElement | undefined {
  for (const e of xmlElements(xml, from, to)) if (e.name === name) return e;
  return undefined;
}
