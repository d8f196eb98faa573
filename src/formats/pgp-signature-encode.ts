/**
 * Writes v4 OpenPGP signature packets (RFC 9580 §5.2.3) whose digest was computed elsewhere.
 * A v4 signature hashes `data || hashedPart || 0x04 0xFF len32(hashedPart)`; splitting the
 * packet into that trailer and the final packet lets a reader that is hashing a file anyway
 * produce the signature's digest in the same pass (see signing/prehash.ts).
 */

export const SIG_TYPE_BINARY = 0x00;

export interface V4SignatureParams {
  sigType: number;
  pubkeyAlgo: number;
  hashAlgo: number;
  /** Seconds since the epoch. */
  created: number;
  /** The signing (sub)key's v4 fingerprint: 20 bytes. */
  issuerFingerprint: Uint8Array;
}

function subpacket(type: number, body: Uint8Array): Uint8Array {
  // Every subpacket here is shorter than 192 bytes: a one-octet length (type included).
  const out = new Uint8Array(2 + body.length);
  out[0] = body.length + 1;
  out[1] = type;
  out.set(body, 2);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** version, type, algorithms and the hashed subpackets (creation time, issuer fingerprint). */
export function v4HashedPart(p: V4SignatureParams): Uint8Array {
  if (p.issuerFingerprint.length !== 20) throw new Error('a v4 fingerprint has 20 bytes');
  const created = new Uint8Array(4);
  new DataView(created.buffer).setUint32(0, p.created);
  const subpackets = concat([
    subpacket(2, created),
    subpacket(33, concat([Uint8Array.of(4), p.issuerFingerprint])),
  ]);
  const head = Uint8Array.of(
    4,
    p.sigType,
    p.pubkeyAlgo,
    p.hashAlgo,
    subpackets.length >> 8,
    subpackets.length & 0xff,
  );
  return concat([head, subpackets]);
}

/** What follows the signed data into the hash. */
export function v4Trailer(hashedPart: Uint8Array): Uint8Array {
  const tail = new Uint8Array(6);
  tail[0] = 4;
  tail[1] = 0xff;
  new DataView(tail.buffer).setUint32(2, hashedPart.length);
  return concat([hashedPart, tail]);
}

/** An MPI: bit count, then the big-endian value without leading zero bytes. */
export function mpi(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  const v = value.subarray(i);
  const bits = v.length === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
  return concat([Uint8Array.of(bits >> 8, bits & 0xff), v]);
}

/**
 * The whole packet (tag 2, new-format header): hashed part, the issuer key id unhashed, the
 * digest's first two bytes and the algorithm-specific signature fields.
 */
export function v4SignaturePacket(
  hashedPart: Uint8Array,
  issuerKeyId: Uint8Array,
  digest: Uint8Array,
  signatureFields: Uint8Array,
): Uint8Array {
  if (issuerKeyId.length !== 8) throw new Error('a key id has 8 bytes');
  return v4SignaturePacketWith(hashedPart, subpacket(16, issuerKeyId), digest, signatureFields);
}

/** The same, with the unhashed subpacket area given as it is. */
export function v4SignaturePacketWith(
  hashedPart: Uint8Array,
  unhashedArea: Uint8Array,
  digest: Uint8Array,
  signatureFields: Uint8Array,
): Uint8Array {
  const body = concat([
    hashedPart,
    Uint8Array.of(unhashedArea.length >> 8, unhashedArea.length & 0xff),
    unhashedArea,
    digest.subarray(0, 2),
    signatureFields,
  ]);
  return concat([Uint8Array.of(0xc0 | 2), newFormatLength(body.length), body]);
}

/** A v4 signature packet body split into its hashed part and its unhashed subpacket area. */
export function splitV4Signature(body: Uint8Array): { hashedPart: Uint8Array; unhashedArea: Uint8Array } {
  if (body.length < 6 || body[0] !== 4) throw new Error('not a v4 signature');
  const hashedLen = (body[4]! << 8) | body[5]!;
  const hashedEnd = 6 + hashedLen;
  if (body.length < hashedEnd + 2) throw new Error('truncated signature');
  const unhashedLen = (body[hashedEnd]! << 8) | body[hashedEnd + 1]!;
  if (body.length < hashedEnd + 2 + unhashedLen) throw new Error('truncated signature');
  return {
    hashedPart: body.slice(0, hashedEnd),
    unhashedArea: body.slice(hashedEnd + 2, hashedEnd + 2 + unhashedLen),
  };
}

/**
 * Clears the critical bit of every hashed subpacket of `type` (in a copy of the hashed part).
 * Subpacket lengths follow RFC 9580 §5.2.3.7: one, two or five octets.
 */
export function withoutCriticalBit(hashedPart: Uint8Array, type: number): Uint8Array {
  const out = hashedPart.slice();
  let pos = 6;
  while (pos < out.length) {
    const first = out[pos]!;
    let len: number;
    let lenSize: number;
    if (first < 192) [len, lenSize] = [first, 1];
    else if (first < 255) [len, lenSize] = [((first - 192) << 8) + out[pos + 1]! + 192, 2];
    else [len, lenSize] = [new DataView(out.buffer, out.byteOffset + pos + 1, 4).getUint32(0), 5];
    const typePos = pos + lenSize;
    if (len < 1 || typePos + len > out.length) throw new Error('malformed subpacket area');
    if ((out[typePos]! & 0x7f) === type) out[typePos] = type;
    pos = typePos + len;
  }
  return out;
}

function newFormatLength(n: number): Uint8Array {
  if (n < 192) return Uint8Array.of(n);
  if (n < 8384) return Uint8Array.of(((n - 192) >> 8) + 192, (n - 192) & 0xff);
  return Uint8Array.of(0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
