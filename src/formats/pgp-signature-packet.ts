/**
 * Just enough of an OpenPGP signature packet (RFC 4880 / RFC 9580 §5.2) to say who signed an
 * rpm and how: the issuer key id and the algorithms. No verification here — rpm/dnf do that.
 */

export interface PgpSignatureInfo {
  version: number;
  /** 16 lower-case hex digits, when the packet names its issuer. */
  keyId?: string;
  /** 40 (v4) or 64 (v5/v6) lower-case hex digits, when an issuer-fingerprint subpacket is present. */
  fingerprint?: string;
  /** rpm's spelling, e.g. "RSA/SHA256", "EdDSA/SHA256". */
  algorithm: string;
  /** Signature creation time (seconds since the epoch), when present. */
  created?: number;
}

/** Names as rpm prints them in `rpm -qpi`'s Signature line. */
const PUBKEY_ALGOS: Record<number, string> = {
  1: 'RSA',
  2: 'RSA',
  3: 'RSA',
  17: 'DSA',
  19: 'ECDSA',
  22: 'EdDSA',
  27: 'Ed25519',
  28: 'Ed448',
};
const HASH_ALGOS: Record<number, string> = {
  1: 'MD5',
  2: 'SHA1',
  3: 'RIPEMD160',
  8: 'SHA256',
  9: 'SHA384',
  10: 'SHA512',
  11: 'SHA224',
  12: 'SHA3-256',
  14: 'SHA3-512',
};

const SUBPACKET_CREATED = 2;
const SUBPACKET_ISSUER = 16;
const SUBPACKET_ISSUER_FPR = 33;

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Parses one signature packet (tag 2); returns undefined for anything else or anything malformed. */
export function parsePgpSignature(bytes: Uint8Array): PgpSignatureInfo | undefined {
  const body = packetBody(bytes);
  if (!body || body.length < 1) return undefined;
  const version = body[0]!;
  if (version === 3) {
    // v3: fixed layout — hashed length 5, type, time(4), key id(8), pubkey algo, hash algo.
    if (body.length < 19 || body[1] !== 5) return undefined;
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    return {
      version,
      created: dv.getUint32(3),
      keyId: hex(body.subarray(7, 15)),
      algorithm: algoName(body[15]!, body[16]!),
    };
  }
  if (version !== 4 && version !== 5 && version !== 6) return undefined;
  // v4/v5: 2-byte subpacket area lengths; v6: 4-byte.
  const lenSize = version === 6 ? 4 : 2;
  if (body.length < 4 + lenSize) return undefined;
  const pubkeyAlgo = body[2]!;
  const hashAlgo = body[3]!;
  const info: PgpSignatureInfo = { version, algorithm: algoName(pubkeyAlgo, hashAlgo) };
  let pos = 4;
  for (let area = 0; area < 2; area++) {
    const len = readLen(body, pos, lenSize);
    if (len === undefined) return undefined;
    pos += lenSize;
    if (pos + len > body.length) return undefined;
    if (!readSubpackets(body.subarray(pos, pos + len), info)) return undefined;
    pos += len;
  }
  if (!info.keyId && info.fingerprint) {
    // v4 key ids are the fingerprint's low 64 bits; v5/v6 ones its high 64 bits.
    info.keyId = info.fingerprint.length === 40 ? info.fingerprint.slice(24) : info.fingerprint.slice(0, 16);
  }
  return info;
}

function readLen(b: Uint8Array, at: number, size: number): number | undefined {
  if (at + size > b.length) return undefined;
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + b[at + i]!;
  return n;
}

function readSubpackets(area: Uint8Array, info: PgpSignatureInfo): boolean {
  let pos = 0;
  while (pos < area.length) {
    const first = area[pos]!;
    let len: number;
    if (first < 192) {
      len = first;
      pos += 1;
    } else if (first < 255) {
      if (pos + 1 >= area.length) return false;
      len = ((first - 192) << 8) + area[pos + 1]! + 192;
      pos += 2;
    } else {
      const l = readLen(area, pos + 1, 4);
      if (l === undefined) return false;
      len = l;
      pos += 5;
    }
    if (len < 1 || pos + len > area.length) return false;
    const type = area[pos]! & 0x7f;
    const data = area.subarray(pos + 1, pos + len);
    if (type === SUBPACKET_ISSUER && data.length === 8) info.keyId = hex(data);
    else if (type === SUBPACKET_ISSUER_FPR && data.length >= 21) info.fingerprint = hex(data.subarray(1));
    else if (type === SUBPACKET_CREATED && data.length === 4) info.created = readLen(data, 0, 4);
    pos += len;
  }
  return true;
}

function algoName(pubkey: number, hash: number): string {
  return `${PUBKEY_ALGOS[pubkey] ?? `pubkey${pubkey}`}/${HASH_ALGOS[hash] ?? `hash${hash}`}`;
}

/** Strips the OpenPGP packet header (old or new format) and returns a signature packet's body. */
function packetBody(b: Uint8Array): Uint8Array | undefined {
  const ctb = b[0];
  if (ctb === undefined || (ctb & 0x80) === 0) return undefined;
  let tag: number;
  let len: number;
  let pos: number;
  if (ctb & 0x40) {
    tag = ctb & 0x3f;
    const l0 = b[1];
    if (l0 === undefined) return undefined;
    if (l0 < 192) {
      len = l0;
      pos = 2;
    } else if (l0 < 224) {
      if (b.length < 3) return undefined;
      len = ((l0 - 192) << 8) + b[2]! + 192;
      pos = 3;
    } else if (l0 === 255) {
      const l = readLen(b, 2, 4);
      if (l === undefined) return undefined;
      len = l;
      pos = 6;
    } else {
      return undefined; // partial lengths never occur in a signature packet
    }
  } else {
    tag = (ctb >> 2) & 0x0f;
    const lt = ctb & 3;
    if (lt === 3) {
      len = b.length - 1;
      pos = 1;
    } else {
      const size = 1 << lt;
      const l = readLen(b, 1, size);
      if (l === undefined) return undefined;
      len = l;
      pos = 1 + size;
    }
  }
  if (tag !== 2 || pos + len > b.length) return undefined;
  return b.subarray(pos, pos + len);
}

/**
 * The first signature packet of an armored signature block (a detached `.asc`/`Release.gpg`, or
 * the signature part of a clearsigned InRelease), parsed; undefined when there is none.
 */
export function parseArmoredSignature(text: string): PgpSignatureInfo | undefined {
  const begin = text.indexOf('-----BEGIN PGP SIGNATURE-----');
  if (begin < 0) return undefined;
  const lines = text.slice(begin).split(/\r?\n/).slice(1);
  // Armor headers ("Version: ...") end at the first empty line; some writers send none.
  const blank = lines.findIndex((l) => l.trim() === '');
  const body: string[] = [];
  for (const l of blank >= 0 && lines.slice(0, blank).every((h) => h.includes(': '))
    ? lines.slice(blank + 1)
    : lines) {
    if (l.startsWith('=') || l.startsWith('-----')) break;
    body.push(l.trim());
  }
  const bytes = Buffer.from(body.join(''), 'base64');
  return parsePgpSignature(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** Whether an armored signature names `fingerprint` (40 hex digits, any case) as its issuer. */
export function signedBy(text: string, fingerprint: string): boolean {
  const info = parseArmoredSignature(text);
  if (!info) return false;
  const fpr = fingerprint.toLowerCase();
  return info.fingerprint !== undefined ? info.fingerprint === fpr : info.keyId === fpr.slice(-16);
}
