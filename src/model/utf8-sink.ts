/**
 * Builds a big UTF-8 document (a 100k-entry listing.json or driver index) straight into bytes,
 * so it is never held as an array of lines, a joined string and its encoding at the same time.
 */
export class Utf8Sink {
  private buf: Uint8Array;
  private at = 0;
  private readonly enc = new TextEncoder();

  /** `expected`: a generous guess of the final size; pages past what is written are never touched. */
  constructor(expected: number) {
    this.buf = new Uint8Array(Math.max(256, expected));
  }

  write(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.at + s.length * 3 > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + s.length * 3));
      bigger.set(this.buf.subarray(0, this.at));
      this.buf = bigger;
    }
    this.at += this.enc.encodeInto(s, this.buf.subarray(this.at)).written;
  }

  /**
   * The bytes written, as a view: a trimmed copy would hold the document twice at the moment of
   * copying, while the untouched tail of an over-sized allocation costs no resident memory.
   */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
}
