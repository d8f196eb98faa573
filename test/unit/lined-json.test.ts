import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLinedDocument } from '../../src/formats/lined-json.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** The layout pkgpub writes: the other fields on the first line, then one item per line. */
function lined(head: Record<string, unknown>, key: string, items: unknown[]): string {
  const open = `${JSON.stringify(head).slice(0, -1)},${JSON.stringify(key)}:[\n`;
  return `${open}${items.map((i) => JSON.stringify(i)).join(',\n')}\n]}\n`;
}

describe('parseLinedDocument', () => {
  it('gives what JSON.parse gives for the whole document', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string().filter((k) => k !== 'drivers'),
          fc.jsonValue(),
        ),
        fc.array(fc.jsonValue(), { minLength: 1 }),
        (head, items) => {
          const text = lined({ date: 'x', ...head }, 'drivers', items);
          const got = parseLinedDocument(enc(text), 'drivers');
          expect(got).toBeDefined();
          // Same values, and the same key order.
          expect(JSON.stringify(got)).toBe(JSON.stringify(JSON.parse(text)));
        },
      ),
    );
  });

  it('reads an empty array, non-ASCII text and a leading byte order mark as a whole decode does', () => {
    const text = '\ufeff{"path":"é/","entries":[\n]}\n';
    expect(parseLinedDocument(enc(text), 'entries')).toEqual({ path: 'é/', entries: [] });
    const two = '{"path":"a/","entries":[\n{"name":"ü"},\n{"name":"\\u00fc\\n"}\n]}';
    expect(parseLinedDocument(enc(two), 'entries')).toEqual({
      path: 'a/',
      entries: [{ name: 'ü' }, { name: 'ü\n' }],
    });
  });

  it('declines every other layout, so the caller parses the whole text', () => {
    const declined = [
      '{"path":"a/","entries":[]}\n', // one line
      '{"path":"a/","entries":[\n\n]}\n', // a blank line
      '{"path":"a/","entries":[\n{"a":1}\n]}\n{}', // something after the end
      '{"path":"a/","entries":[\n{"a":1},\n]}\n', // trailing comma: invalid JSON
      '{"path":"a/","entries":[\n{"a":1}\n{"a":2}\n]}\n', // missing comma: invalid JSON
      '{"path":"a/","entries":[\n{"a":1},{"a":2}\n]}\n', // two items on a line
      '{"path":"a/","entries":[\r\n{"a":1}\r\n]}\r\n', // CRLF
      '{"path":"a/","entries":[\n\ufeff{"a":1}\n]}\n', // a byte order mark inside
      '{"path":"a/","entries":[\n{"a":1}\n', // cut short
      '{"path":"a/", "entries" : [\n{"a":1}\n]}\n', // spaced differently
      '{"path":"a/","other":[\n{"a":1}\n]}\n', // another key
      '{"a":{"b":1,"entries":[\n1\n]}\n', // not the top level's
      '["entries",[\n1\n]]\n', // not an object
    ];
    for (const text of declined) expect(parseLinedDocument(enc(text), 'entries'), text).toBeUndefined();
  });

  it('takes white space after the closing line, and keeps the last of a repeated field as JSON.parse does', () => {
    const text = '{"path":"a/","path":"b/","entries":[\n1,\n2\n]}\n \n\t';
    expect(parseLinedDocument(enc(text), 'entries')).toEqual({ path: 'b/', entries: [1, 2] });
  });
});
