import { createHash } from 'node:crypto';
import {
  decryptKey,
  enums,
  type PrivateKey,
  readPrivateKey,
  readSignature,
  type SignaturePacket,
} from 'openpgp';
import { SigningError } from '../errors.js';
import { v4HashedPart, v4Trailer } from '../formats/pgp-signature-encode.js';
import { type DigestSigner, digestSignerFor } from './digest-signer.js';
import { assessKey } from './key-health.js';
import { expiryOf, newest } from './key-report.js';
import { libraryReason, STRONG_HASHES } from './openpgp-signer.js';

export interface ExtendKeyInput {
  /** The key as read from the user's export, passphrase protection and all: it is what is written back. */
  key: PrivateKey;
  /** The same key unlocked (the same object when it has no passphrase): only its secrets sign. */
  unlocked: PrivateKey;
  expires: Date;
  now: Date;
}

export interface ExtendedKey {
  /** The re-certified key, its secret packets as they were (still under the same passphrase). */
  key: PrivateKey;
  /** The newest self-signature's expiry before; null: it never expired. */
  previousExpiry: Date | null;
  /** What the new self-signatures say (whole seconds after creation, as OpenPGP stores it). */
  expires: Date;
}

const SUB_CREATED = 2;
const SUB_SIG_EXPIRES = 3;
const SUB_KEY_EXPIRES = 9;
const SUB_EMBEDDED = 32;
const SIG_PRIMARY_BINDING = 0x19;

/**
 * `gpg --quick-set-expire FPR N '*'` done in-process: new self-signatures for every user id and
 * new binding signatures for every subkey that is not revoked, over SHA-256, saying `expires`.
 * Same key packets, so the same fingerprint and key material; the old signatures are replaced
 * (an old SHA-1 one would keep sqv from accepting the certificate). The key-expiration subpacket
 * is written non-critical, as gpg does (rpm 4.18 refuses critical subpackets it does not know,
 * see generate-key.ts). Every other hashed subpacket of the newest old signature is kept: flags,
 * preferences and features stay what the user chose.
 */
export async function extendKey(input: ExtendKeyInput): Promise<ExtendedKey> {
  const { key, unlocked, now } = input;
  const fpr = key.getFingerprint().toUpperCase();
  if (key.keyPacket.version !== 4)
    throw new SigningError(
      `signing key ${fpr} is a v${key.keyPacket.version} key; only v4 keys are extended`,
    );
  // Raw presence, not a verified revocation: a revoked key must never be brought back.
  if (key.revocationSignatures.length > 0)
    throw new SigningError(`signing key ${fpr} is revoked; make a new one with \`pkgpub keys generate\``);
  const created = key.getCreationTime();
  const previousExpiry = expiryOf(created, newest(key.users.flatMap((u) => u.selfCertifications)));
  const seconds = Math.floor((input.expires.getTime() - created.getTime()) / 1000);
  if (input.expires.getTime() <= now.getTime() || seconds <= 0)
    throw new SigningError(`the new expiry ${day(input.expires)} is not in the future`);
  const expires = new Date(created.getTime() + seconds * 1000);
  const signer = digestSignerFor(unlocked.keyPacket as never);
  if (!signer)
    throw new SigningError(
      `the secret of primary key ${fpr} is not in this export (or is not RSA or Ed25519): re-certifying needs it`,
    );
  const at = Math.floor(now.getTime() / 1000);
  const pub = key.toPublic();
  const primaryHead = keyHead(packetBytes(pub.keyPacket));

  let users = 0;
  for (const user of key.users) {
    const template = newest(user.selfCertifications);
    if (!user.userID || !template || user.revocationSignatures.length > 0) continue;
    const uid = new TextEncoder().encode(user.userID.userID);
    const uidHead = Buffer.alloc(5);
    uidHead[0] = 0xb4;
    uidHead.writeUInt32BE(uid.length, 1);
    const sig = await resign(template, signer, at, seconds, [primaryHead, uidHead, uid]);
    user.selfCertifications = [sig];
    users++;
  }
  if (users === 0) throw new SigningError(`signing key ${fpr} has no user id to re-certify`);

  for (const [i, sub] of key.subkeys.entries()) {
    const template = newest(sub.bindingSignatures);
    if (!template || sub.revocationSignatures.length > 0) continue;
    const subSeconds = Math.floor((expires.getTime() - sub.getCreationTime().getTime()) / 1000);
    const bound = [primaryHead, keyHead(packetBytes(pub.subkeys[i]!.keyPacket))];
    let backSig: Uint8Array | undefined;
    const embedded = template.embeddedSignature;
    if (embedded && (embedded.hashAlgorithm === null || !STRONG_HASHES.has(embedded.hashAlgorithm))) {
      // A signing subkey's back-signature is made by the subkey itself: a weak one needs its secret.
      const subSigner = digestSignerFor(unlocked.subkeys[i]!.keyPacket as never);
      if (!subSigner)
        throw new SigningError(
          `the back-signature of subkey ${sub.getFingerprint().toUpperCase()} uses a weak digest and its secret is not in this export: re-certify it with gpg`,
        );
      backSig = backSignature(subSigner, sub.keyPacket.getFingerprintBytes() as Uint8Array, at, bound);
    }
    sub.bindingSignatures = [await resign(template, signer, at, subSeconds, bound, backSig)];
  }

  // Parsed again from its own bytes, so what is judged is exactly what gets written.
  const out = await readPrivateKey({ binaryKey: key.write() });
  await assessKey(out, now).catch((err: unknown) => {
    throw err instanceof SigningError
      ? new SigningError(`the extended key does not pass publish's checks: ${err.message}`)
      : err;
  });
  const seen = await out.getExpirationTime();
  if (!(seen instanceof Date) || seen.getTime() !== expires.getTime())
    throw new SigningError(`the extended key does not carry the new expiry ${day(expires)}`);
  return { key: out, previousExpiry, expires };
}

/**
 * The key unlocked to sign its own certifications (a copy: `key` itself stays as the user's export
 * protects it). loadSigner's own unlock comes after its health check, which refuses exactly the
 * expired and SHA-1-bound keys extending repairs.
 */
export async function unlockForExtend(key: PrivateKey, passphrase: string | undefined): Promise<PrivateKey> {
  const fpr = key.getFingerprint().toUpperCase();
  if (key.isDecrypted()) return key;
  if (passphrase === undefined || passphrase === '')
    throw new SigningError(`signing key ${fpr} is protected by a passphrase: set PKGPUB_SIGNING_PASSPHRASE`);
  try {
    return await decryptKey({ privateKey: key, passphrase });
  } catch (err) {
    // Same reduction as loadSigner: a vetted reason, never the library's text with key material.
    const reason = libraryReason(err);
    if (/passphrase|checksum|modification detected|authentication/i.test(reason))
      throw new SigningError(`wrong passphrase for signing key ${fpr}`);
    throw new SigningError(`signing key ${fpr} cannot be unlocked: ${reason}`);
  }
}

/**
 * A copy of `template` (its hashed subpackets, unhashed area and type) made now, saying the key
 * expires `seconds` after its creation, over SHA-256, signed over `data` + the v4 trailer.
 */
async function resign(
  template: SignaturePacket,
  signer: DigestSigner,
  at: number,
  seconds: number,
  data: Uint8Array[],
  backSig?: Uint8Array,
): Promise<SignaturePacket> {
  const body = packetBytes(template);
  if (body[0] !== 4) throw new SigningError('only v4 self-signatures can be re-made');
  const hashedLen = (body[4]! << 8) | body[5]!;
  const hashedEnd = 6 + hashedLen;
  const unhashedLen = (body[hashedEnd]! << 8) | body[hashedEnd + 1]!;
  const unhashed = body.subarray(hashedEnd + 2, hashedEnd + 2 + unhashedLen);
  const created = Buffer.alloc(4);
  created.writeUInt32BE(at);
  const expiry = Buffer.alloc(4);
  expiry.writeUInt32BE(seconds);
  const subs = parseSubpackets(body.subarray(6, hashedEnd))
    .filter((s) => s.type !== SUB_CREATED && s.type !== SUB_KEY_EXPIRES && s.type !== SUB_SIG_EXPIRES)
    .map((s) => (s.type === SUB_EMBEDDED && backSig ? { ...s, body: backSig } : s));
  const area = Buffer.concat([
    subpacket(SUB_CREATED, created),
    subpacket(SUB_KEY_EXPIRES, expiry),
    ...subs.map((s) => subpacket(s.type, s.body, s.critical)),
  ]);
  const hashedPart = Buffer.concat([
    Uint8Array.of(4, body[1]!, body[2]!, enums.hash.sha256, area.length >> 8, area.length & 0xff),
    area,
  ]);
  const digest = sha256([...data, v4Trailer(hashedPart)]);
  const newBody = signatureBody(hashedPart, unhashed, digest, signer.signDigest(digest));
  const parsed = await readSignature({ binarySignature: withPacketHeader(newBody) });
  return parsed.packets[0]!;
}

/** A fresh primary-key binding (0x19) by the subkey, for the hashed area of its binding. */
function backSignature(signer: DigestSigner, subFpr: Uint8Array, at: number, data: Uint8Array[]): Uint8Array {
  const hashedPart = v4HashedPart({
    sigType: SIG_PRIMARY_BINDING,
    pubkeyAlgo: signer.pubkeyAlgo,
    hashAlgo: enums.hash.sha256,
    created: at,
    issuerFingerprint: subFpr,
  });
  const digest = sha256([...data, v4Trailer(hashedPart)]);
  return signatureBody(hashedPart, subpacket(16, subFpr.subarray(12)), digest, signer.signDigest(digest));
}

interface Subpacket {
  type: number;
  critical: boolean;
  body: Uint8Array;
}

/** RFC 9580 §5.2.3.7: one-, two- or five-octet lengths, the type's top bit marking it critical. */
function parseSubpackets(area: Uint8Array): Subpacket[] {
  const out: Subpacket[] = [];
  let pos = 0;
  while (pos < area.length) {
    const first = area[pos]!;
    let len: number;
    let lenSize: number;
    if (first < 192) [len, lenSize] = [first, 1];
    else if (first < 255) [len, lenSize] = [((first - 192) << 8) + area[pos + 1]! + 192, 2];
    else [len, lenSize] = [Buffer.from(area.subarray(pos + 1, pos + 5)).readUInt32BE(0), 5];
    const typePos = pos + lenSize;
    if (len < 1 || typePos + len > area.length) throw new SigningError('malformed signature subpackets');
    out.push({
      type: area[typePos]! & 0x7f,
      critical: (area[typePos]! & 0x80) !== 0,
      body: area.slice(typePos + 1, typePos + len),
    });
    pos = typePos + len;
  }
  return out;
}

function subpacket(type: number, body: Uint8Array, critical = false): Buffer {
  return Buffer.concat([lengthOctets(body.length + 1), Uint8Array.of(critical ? type | 0x80 : type), body]);
}

/** The subpacket and new-format packet length encodings are the same for these sizes. */
function lengthOctets(n: number): Uint8Array {
  if (n < 192) return Uint8Array.of(n);
  if (n < 8384) return Uint8Array.of(((n - 192) >> 8) + 192, (n - 192) & 0xff);
  return Uint8Array.of(0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function signatureBody(
  hashedPart: Uint8Array,
  unhashed: Uint8Array,
  digest: Uint8Array,
  fields: Uint8Array,
): Buffer {
  return Buffer.concat([
    hashedPart,
    Uint8Array.of(unhashed.length >> 8, unhashed.length & 0xff),
    unhashed,
    digest.subarray(0, 2),
    fields,
  ]);
}

function withPacketHeader(body: Uint8Array): Buffer {
  return Buffer.concat([Uint8Array.of(0xc0 | 2), lengthOctets(body.length), body]);
}

/** A key packet as certifications hash it: 0x99, two-octet length, the public packet body. */
function keyHead(pub: Uint8Array): Buffer {
  return Buffer.concat([Uint8Array.of(0x99, pub.length >> 8, pub.length & 0xff), pub]);
}

function sha256(parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function packetBytes(p: unknown): Uint8Array {
  return (p as { write(): Uint8Array }).write();
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}
