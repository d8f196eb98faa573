// lzma-native ships no types; only what pkgpub uses is declared.
declare module 'lzma-native' {
  import type { Transform } from 'node:stream';
  interface LzmaOptions {
    preset?: number;
    check?: number;
    threads?: number;
    memlimit?: number;
  }
  function compress(input: Buffer, options: LzmaOptions, cb: (out: Buffer, err?: Error) => void): void;
  function decompress(input: Buffer, options: LzmaOptions, cb: (out: Buffer, err?: Error) => void): void;
  function createCompressor(options?: LzmaOptions): Transform;
  function createDecompressor(options?: LzmaOptions): Transform;
  /** liblzma's integrity check ids (lzma_check). */
  const CHECK_CRC32: number;
  const lzma: {
    CHECK_CRC32: number;
    compress: typeof compress;
    decompress: typeof decompress;
    createCompressor: typeof createCompressor;
    createDecompressor: typeof createDecompressor;
  };
  export default lzma;
  export { CHECK_CRC32, compress, decompress, createCompressor, createDecompressor };
}
