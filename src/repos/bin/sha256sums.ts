/**
 * sha256sum(1)'s check-file format: `<64 hex>  <name>` per line (`*<name>` marks binary mode,
 * which means nothing on POSIX and is read the same). Names with a newline or a backslash need
 * sha256sum's escaped form; tarball names never hold those, so the writer refuses them instead.
 */
const LINE = /^\\?([0-9a-fA-F]{64}) [ *](.+)$/;

/** name -> sha256 (lower case hex); throws with the line number on a line that is not a checksum line. */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m || line.startsWith('\\')) throw new Error(`line ${i + 1} is not "<sha256>  <name>"`);
    out.set(m[2]!, m[1]!.toLowerCase());
  }
  return out;
}

export function renderSha256Sums(sums: Map<string, string>): string {
  const names = [...sums.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const n of names)
    if (/[\n\r\\]/.test(n)) throw new Error(`cannot list ${JSON.stringify(n)} in SHA256SUMS`);
  return names.map((n) => `${sums.get(n)}  ${n}\n`).join('');
}
