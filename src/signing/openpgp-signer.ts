import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import {
  armor,
  createCleartextMessage,
  createMessage,
  enums,
  readSignature,
  verify,
  type PartialConfig,
  type PrivateKey,
  type Signature,
  type SignaturePacket,
  sign,
  type Subkey,
} from 'openpgp';
import { SigningError } from '../errors.js';
import {
  SIG_TYPE_BINARY,
  v4HashedPart,
  v4SignaturePacket,
  v4Trailer,
} from '../formats/pgp-signature-encode.js';
import { type DigestSigner, digestSignerFor } from './digest-signer.js';
import { signDigests } from './sign-digests.js';
import { type PrehashTemplate, prehashDigest } from './prehash.js';
import type { Signer } from './signer.js';

/** Digests every verifier we publish for accepts and none of them calls weak. */
export const STRONG_HASHES: ReadonlySet<number> = new Set([
  enums.hash.sha256,
  enums.hash.sha384,
  enums.hash.sha512,
  enums.hash.sha3_256,
  enums.hash.sha3_512,
]);

/**
 * openpgp.js signs with `preferredHashAlgorithm` only when the key's own preferences list it, and
 * otherwise falls back to SHA-256 (always allowed). Asking for SHA-512 only when the key lists it
 * keeps the choice predictable: SHA-512 or SHA-256, never SHA-1, whatever the key prefers.
 */
export function hashFor(selfSigPrefs: readonly number[] | null): number {
  return selfSigPrefs?.includes(enums.hash.sha512) ? enums.hash.sha512 : enums.hash.sha256;
}

/**
 * A library error reduced to something safe to print: its first line, shortened, with any long
 * base64 or hex run (which could only be key or signature material) cut out.
 */
export function libraryReason(err: unknown): string {
  const first = err instanceof Error ? (err.message.split('\n')[0] ?? '') : '';
  const clean = first
    .replace(/[A-Za-z0-9+/=]{24,}/g, '…')
    .slice(0, 120)
    .trim();
  return clean || 'unknown error';
}

export interface OpenPgpSignerInit {
  /** Decrypted private key. */
  key: PrivateKey;
  /** The (sub)key chosen by key-health, so every signature comes from the same key. */
  signingKey: PrivateKey | Subkey;
  hashAlgorithm: number;
  /** Fixed signing time (tests); the real clock at each call when absent. */
  now?: Date;
}

export class OpenPgpSigner implements Signer {
  readonly fingerprint: string;
  readonly keyId: string;
  readonly signingKeyFingerprint: string;
  readonly userIds: string[];
  // ES private fields: invisible to JSON.stringify, Object.keys, spread and util.inspect.
  readonly #key: PrivateKey;
  readonly #signingKeyId: ReturnType<Subkey['getKeyID']>;
  readonly #config: PartialConfig;
  readonly #now: Date | undefined;
  readonly #publicArmored: string;
  readonly #signingPacket: (PrivateKey | Subkey)['keyPacket'];
  #digestSigner: DigestSigner | undefined;

  constructor(init: OpenPgpSignerInit) {
    this.#key = init.key;
    this.#signingKeyId = init.signingKey.getKeyID();
    this.#now = init.now;
    this.#config = { preferredHashAlgorithm: init.hashAlgorithm, v6Keys: false };
    this.fingerprint = init.key.getFingerprint().toUpperCase();
    this.keyId = init.key.getKeyID().toHex().toUpperCase();
    this.signingKeyFingerprint = init.signingKey.getFingerprint().toUpperCase();
    this.userIds = init.key.getUserIDs();
    this.#publicArmored = init.key.toPublic().armor();
    this.#signingPacket = init.signingKey.keyPacket;
    this.#digestSigner = digestSignerFor(this.#signingPacket as never);
  }

  /**
   * Signs one message through the prehash path and has openpgp.js verify it; on any failure the
   * path is switched off and every signature goes through openpgp.js. Run once per loaded key.
   */
  async checkPrehashPath(): Promise<boolean> {
    const template = this.prehashTemplate();
    if (!template) return false;
    const data = new TextEncoder().encode('pkgpub prehash self-test\n');
    try {
      const armored = await this.signPrehashed(
        template,
        prehashDigest(createHash('sha256').update(data), template),
      );
      const result = await verify({
        message: await createMessage({ binary: data }),
        signature: await readSignature({ armoredSignature: armored }),
        verificationKeys: this.#key.toPublic(),
        expectSigned: true,
        format: 'binary',
        config: { minRSABits: 2048 },
      });
      await result.signatures[0]!.verified;
      return true;
    } catch {
      this.#digestSigner = undefined;
      return false;
    }
  }

  prehashTemplate(): PrehashTemplate | undefined {
    if (!this.#digestSigner) return undefined;
    const created = Math.floor(this.#date().getTime() / 1000);
    return { hash: 'sha256', created, trailer: v4Trailer(this.#hashedPart(created)) };
  }

  /** v4 packets over digests of data || template.trailer, signed with Node's crypto (RSA on every core). */
  async #prehashedPackets(template: PrehashTemplate, digestsHex: string[]): Promise<Uint8Array[]> {
    const signer = this.#digestSigner;
    if (!signer) throw new SigningError(`key ${this.fingerprint} cannot sign a precomputed digest`);
    const hashedPart = this.#hashedPart(template.created);
    // The template must be one this signer made: its trailer is what the digest covered.
    if (Buffer.compare(Buffer.from(v4Trailer(hashedPart)), Buffer.from(template.trailer)) !== 0)
      throw new SigningError('signature digest was computed for another key or time');
    const digests = digestsHex.map((hex) => {
      const digest = Buffer.from(hex, 'hex');
      if (digest.length !== 32) throw new SigningError('a sha256 digest has 32 bytes');
      return digest;
    });
    const fields = await this.#run('detached signature', () => signDigests(signer.portable, digests));
    const keyId = Buffer.from(this.#signingPacket.getKeyID().toHex(), 'hex');
    return digests.map((digest, i) => v4SignaturePacket(hashedPart, keyId, digest, fields[i]!));
  }

  async signPrehashed(template: PrehashTemplate, digestHex: string): Promise<string> {
    return (await this.signPrehashedMany(template, [digestHex]))[0]!;
  }

  async signPrehashedMany(template: PrehashTemplate, digestsHex: string[]): Promise<string[]> {
    // Packets this class assembled (v4, SHA-256): armored directly, with the checksum a v4
    // signature's armor carries. Parsing each back through readSignature cost 0.1 ms apiece.
    const packets = await this.#prehashedPackets(template, digestsHex);
    return packets.map((packet) =>
      armor(enums.armor.signature, packet, undefined, undefined, undefined, true),
    );
  }

  #hashedPart(created: number): Uint8Array {
    return v4HashedPart({
      sigType: SIG_TYPE_BINARY,
      pubkeyAlgo: this.#digestSigner!.pubkeyAlgo,
      hashAlgo: enums.hash.sha256,
      created,
      issuerFingerprint: this.#signingPacket.getFingerprintBytes()!,
    });
  }

  publicKeyArmored(): string {
    return this.#publicArmored;
  }

  async clearsign(text: string): Promise<string> {
    const body = text.endsWith('\n') ? text.slice(0, -1) : text;
    const message = await createCleartextMessage({ text: body });
    const signed = await this.#run('clearsign', () =>
      sign({
        message,
        signingKeys: this.#key,
        signingKeyIDs: this.#signingKeyId,
        format: 'object',
        date: this.#date(),
        config: this.#config,
      }),
    );
    // The cleartext object keeps its signature in a field the typings leave out.
    const signature = (signed as unknown as { signature: Signature }).signature;
    const packet = this.#check(signature.packets);
    // Assembled here rather than by openpgp.js, whose armor() emits the text with CRLF line ends;
    // InRelease must keep LF, as apt parses the cleartext as-is.
    const hashName = String(enums.read(enums.hash, packet.hashAlgorithm!)).toUpperCase();
    const escaped = message.getText().replace(/^-/gm, '- -');
    return `-----BEGIN PGP SIGNED MESSAGE-----\nHash: ${hashName}\n\n${escaped}\n${signature.armor()}`;
  }

  async detachSignArmored(data: Uint8Array): Promise<string> {
    return (await this.#detached(data)).armor();
  }

  async detachSignBinary(data: Uint8Array): Promise<Uint8Array> {
    return (await this.detachSignBinaryMany([data]))[0]!;
  }

  async detachSignBinaryMany(data: Uint8Array[]): Promise<Uint8Array[]> {
    // One per signed rpm header: through openpgp.js each cost 0.7 ms (Ed25519) on the main thread.
    const template = this.prehashTemplate();
    if (template)
      return this.#prehashedPackets(
        template,
        data.map((d) => prehashDigest(createHash('sha256').update(d), template)),
      );
    const out: Uint8Array[] = [];
    for (const d of data) {
      const bytes = (await this.#detached(d)).write();
      if (!(bytes instanceof Uint8Array)) throw new SigningError('signature serialised as a stream');
      out.push(bytes);
    }
    return out;
  }

  toString(): string {
    return `OpenPgpSigner(${this.fingerprint})`;
  }

  toJSON(): { fingerprint: string; keyId: string; userIds: string[] } {
    return { fingerprint: this.fingerprint, keyId: this.keyId, userIds: this.userIds };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  async #detached(data: Uint8Array): Promise<Signature> {
    const message = await createMessage({ binary: data });
    const signature = await this.#run('detached signature', () =>
      sign({
        message,
        signingKeys: this.#key,
        signingKeyIDs: this.#signingKeyId,
        detached: true,
        format: 'object',
        date: this.#date(),
        config: this.#config,
      }),
    );
    // With detached + object, openpgp.js returns the Signature itself.
    const sig = signature as unknown as Signature;
    this.#check(sig.packets);
    return sig;
  }

  #date(): Date {
    return this.#now ?? new Date();
  }

  async #run<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      // No cause: nothing the library attaches to its errors may reach the CLI output.
      throw new SigningError(`${what} with key ${this.fingerprint} failed: ${libraryReason(err)}`);
    }
  }

  /** A last guard: whatever the key says, what leaves here is v4 with a strong digest. */
  #check(packets: readonly SignaturePacket[]): SignaturePacket {
    if (packets.length !== 1) throw new SigningError(`expected one signature, made ${packets.length}`);
    const p = packets[0]!;
    if (p.version !== 4) {
      throw new SigningError(`key ${this.fingerprint} made a v${p.version} signature; only v4 is published`);
    }
    if (p.hashAlgorithm === null || !STRONG_HASHES.has(p.hashAlgorithm)) {
      throw new SigningError(
        `key ${this.fingerprint} would sign with a weak digest (${p.hashAlgorithm}); refusing`,
      );
    }
    return p;
  }
}
