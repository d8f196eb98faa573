import type { Hash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  createMessage,
  type PublicKey,
  readCleartextMessage,
  readKeys,
  readSignature,
  type Signature,
  verify,
  type VerifyMessageResult,
} from 'openpgp';

/** The keys a site's signatures are checked against, and where they came from (the report says which). */
export interface Trust {
  keys: PublicKey[];
  /** "pinned (--key)" or "the site's own keys/…" */
  origin: string;
}

export interface SignatureCheck {
  /** Fingerprints (upper case) of trusted keys with a good signature. */
  goodBy: string[];
  /** One line per signature that did not verify, or why none could be read. */
  problems: string[];
}

/** Every key in armored or binary key files (a bundle holds several). */
export async function readPublicKeys(bytes: Uint8Array): Promise<PublicKey[]> {
  const text = new TextDecoder().decode(bytes);
  const keys = text.includes('-----BEGIN PGP')
    ? await readKeys({ armoredKeys: text })
    : await readKeys({ binaryKeys: bytes });
  return keys.map((k) => (k.isPrivate() ? k.toPublic() : k) as PublicKey);
}

const keyOfKeyId = (keys: PublicKey[], keyIdHex: string): PublicKey | undefined =>
  keys.find((k) => [k, ...k.subkeys].some((sk) => sk.getKeyID().toHex().toUpperCase() === keyIdHex));

/** Config that admits what the signer might have used, so the report names the real problem. */
const VERIFY_CONFIG = { minRSABits: 2048 };

async function judge(
  result: VerifyMessageResult<unknown>,
  keys: PublicKey[],
  date: Date,
): Promise<SignatureCheck> {
  const out: SignatureCheck = { goodBy: [], problems: [] };
  if (result.signatures.length === 0) out.problems.push('no signature in it');
  for (const s of result.signatures) {
    const id = s.keyID.toHex().toUpperCase();
    const key = keyOfKeyId(keys, id);
    if (!key) {
      out.problems.push(`signed by key ${id}, which is not among the trusted keys`);
      continue;
    }
    const fpr = key.getFingerprint().toUpperCase();
    try {
      await s.verified;
      // openpgp.js accepts a signature made while the key was valid; apt (EXPKEYSIG), dnf and
      // rpm judge the key as it is today.
      const expires = await key.getExpirationTime().catch(() => null);
      if (expires instanceof Date && expires.getTime() <= date.getTime())
        out.problems.push(
          `signed by ${fpr}, which expired on ${expires.toISOString().slice(0, 10)}: apt reports EXPKEYSIG, dnf and rpm refuse it`,
        );
      else out.goodBy.push(fpr);
    } catch (err) {
      out.problems.push(`the signature by ${fpr} does not verify at ${date.toISOString()}: ${reason(err)}`);
    }
  }
  return out;
}

function reason(err: unknown): string {
  return ((err as Error).message ?? String(err)).replace(/^Error: /, '').split('\n')[0]!;
}

/** InRelease: the signed text and who signed it. */
export async function checkClearsigned(
  text: string,
  trust: Trust,
  date: Date,
): Promise<SignatureCheck & { body?: string }> {
  let message: Awaited<ReturnType<typeof readCleartextMessage>>;
  try {
    message = await readCleartextMessage({ cleartextMessage: text });
  } catch (err) {
    return { goodBy: [], problems: [`not a cleartext-signed message: ${reason(err)}`] };
  }
  const result = await verify({ message, verificationKeys: trust.keys, date, config: VERIFY_CONFIG });
  return { ...(await judge(result, trust.keys, date)), body: message.getText() };
}

async function readAnySignature(sig: Uint8Array): Promise<Signature> {
  const text = new TextDecoder().decode(sig);
  return text.includes('-----BEGIN PGP SIGNATURE-----')
    ? readSignature({ armoredSignature: text })
    : readSignature({ binarySignature: sig });
}

/**
 * A detached signature over bytes that arrive as a stream (a tarball, a package): the bytes pass
 * once, and `hashes` are updated on the way, so a deep check reads each file a single time.
 */
export async function checkDetached(
  data: Uint8Array | Readable,
  signature: Uint8Array,
  trust: Trust,
  date: Date,
  hashes: Hash[] = [],
): Promise<SignatureCheck> {
  let sig: Signature;
  try {
    sig = await readAnySignature(signature);
  } catch (err) {
    return { goodBy: [], problems: [`not an OpenPGP signature: ${reason(err)}`] };
  }
  // A big document (a driver version's json is ~50 MB for 100,000 drivers) goes through as a
  // stream: handed over whole, openpgp.js copies it once more to hash it.
  if (data instanceof Uint8Array && data.length > STREAM_ABOVE) data = Readable.from(chunksOf(data));
  if (data instanceof Uint8Array) {
    for (const h of hashes) h.update(data);
    const result = await verify({
      message: await createMessage({ binary: data }),
      signature: sig,
      verificationKeys: trust.keys,
      date,
      format: 'binary',
      config: VERIFY_CONFIG,
    });
    return judge(result, trust.keys, date);
  }
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      for (const h of hashes) h.update(chunk);
      cb(null, chunk);
    },
  });
  const web = Readable.toWeb(data.pipe(tap)) as unknown as WebReadableStream<Uint8Array>;
  const result = await verify({
    message: await createMessage({ binary: web as never }),
    signature: sig,
    verificationKeys: trust.keys,
    date,
    format: 'binary',
    config: VERIFY_CONFIG,
  });
  // The signatures settle only once the data has been read through.
  const reader = (result.data as unknown as WebReadableStream<Uint8Array>).getReader();
  while (!(await reader.read()).done);
  return judge(result, trust.keys, date);
}

const STREAM_ABOVE = 1 << 20;

function* chunksOf(data: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < data.length; at += STREAM_ABOVE) yield data.subarray(at, at + STREAM_ABOVE);
}
