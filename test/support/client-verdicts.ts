import { createHash } from 'node:crypto';
import type { PrehashTemplate } from '../../src/signing/prehash.js';
import type { Signer } from '../../src/signing/signer.js';
import type { ObjectStore } from '../../src/storage/object-store.js';

/**
 * What a real client concluded about one served state, asked once per distinct state.
 *
 * A crash test stops a publish after every single write, and most of those points leave exactly
 * the bytes an earlier point left in every file the client reads (a crash among the blob uploads
 * changes nothing apt or dnf fetch). apt-get update and dnf makecache are deterministic in the
 * bytes they fetch, so a state whose every such byte was judged before gets that verdict; each new
 * state is judged by the real client. The fingerprint must cover everything the client can read
 * (aptReadsFingerprint, dnfReadsFingerprint) and whatever else it is given (key, options).
 */
export class ClientVerdicts<V> {
  private readonly seen = new Map<string, V>();
  /** Real client runs; `asked - runs` states were ones already judged. */
  runs = 0;
  asked = 0;

  async judge(fingerprint: string, run: () => Promise<V>): Promise<V> {
    this.asked++;
    const known = this.seen.get(fingerprint);
    if (known !== undefined) return known;
    this.runs++;
    const verdict = await run();
    this.seen.set(fingerprint, verdict);
    return verdict;
  }
}

/** Hashes what a client could read: named objects' bytes (or their absence) and extra inputs. */
class Reads {
  private readonly h = createHash('sha256');
  constructor(private readonly store: ObjectStore) {}
  async object(key: string): Promise<Uint8Array | undefined> {
    const bytes = await this.store.get(key);
    this.h.update(
      `${key} ${bytes ? `${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}` : '-'}\n`,
    );
    return bytes;
  }
  extra(e: string | Uint8Array): void {
    this.h.update(typeof e === 'string' ? `extra ${e}\n` : e);
  }
  digest(): string {
    return this.h.digest('hex');
  }
}

/**
 * Everything `apt-get update` can read from a suite: InRelease, Release and Release.gpg, and for
 * every index either Release names, the plain file and its by-hash copy. Files no Release names
 * (by-hash copies of a generation not yet committed) cannot reach apt.
 */
export async function aptReadsFingerprint(
  store: ObjectStore,
  dists: string,
  extra: (string | Uint8Array)[] = [],
): Promise<string> {
  const reads = new Reads(store);
  const named = new Map<string, Set<string>>();
  for (const name of ['InRelease', 'Release', 'Release.gpg']) {
    const bytes = await reads.object(`${dists}/${name}`);
    if (!bytes || name === 'Release.gpg') continue;
    const text = new TextDecoder().decode(bytes);
    const sha256 = text.split(/^SHA256:$/m)[1]?.split(/^\S/m)[0] ?? '';
    for (const m of sha256.matchAll(/^ ([0-9a-f]{64}) +\d+ (\S+)$/gm)) {
      const set = named.get(m[2]!) ?? new Set<string>();
      set.add(m[1]!);
      named.set(m[2]!, set);
    }
  }
  for (const [path, hashes] of [...named].sort(([a], [b]) => (a < b ? -1 : 1))) {
    await reads.object(`${dists}/${path}`);
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
    for (const sha of [...hashes].sort())
      await reads.object(`${dists}/${dir ? `${dir}/` : ''}by-hash/SHA256/${sha}`);
  }
  for (const e of extra) reads.extra(e);
  return reads.digest();
}

/**
 * Everything `dnf makecache` can read from a repository: repomd.xml, its .asc, and every file the
 * repomd.xml names. Repodata files no repomd.xml names cannot reach dnf.
 */
export async function dnfReadsFingerprint(
  store: ObjectStore,
  repo: string,
  extra: (string | Uint8Array)[] = [],
): Promise<string> {
  const reads = new Reads(store);
  await reads.object(`${repo}/repodata/repomd.xml.asc`);
  const repomd = await reads.object(`${repo}/repodata/repomd.xml`);
  const hrefs = repomd ? [...new TextDecoder().decode(repomd).matchAll(/<location href="([^"]+)"/g)] : [];
  for (const href of hrefs.map((m) => m[1]!).sort()) await reads.object(`${repo}/${href}`);
  for (const e of extra) reads.extra(e);
  return reads.digest();
}

/**
 * The signer, but bytes it has signed before get the very signature they got then. openpgp.js salts
 * every signature, so two publishes of the same state would otherwise differ in InRelease,
 * repomd.xml.asc and every signed rpm, and no state would ever be seen twice. Every signature is a
 * real one, made by `signer` (give it a fixed `now`, or the creation times differ too).
 */
export function sameSignatures(signer: Signer): Signer {
  const made = new Map<string, Promise<unknown>>();
  const once = <T>(what: string, input: string | Uint8Array, sign: () => Promise<T>): Promise<T> => {
    const k = `${what} ${createHash('sha256').update(input).digest('hex')}`;
    if (!made.has(k)) made.set(k, sign());
    return made.get(k) as Promise<T>;
  };
  const binary = (d: Uint8Array) => once('binary', d, () => signer.detachSignBinary(d));
  const prehashed = (t: PrehashTemplate, d: string) => once('prehashed', d, () => signer.signPrehashed(t, d));
  return {
    fingerprint: signer.fingerprint,
    keyId: signer.keyId,
    signingKeyFingerprint: signer.signingKeyFingerprint,
    userIds: signer.userIds,
    publicKeyArmored: () => signer.publicKeyArmored(),
    clearsign: (text) => once('clear', text, () => signer.clearsign(text)),
    detachSignArmored: (data) => once('armored', data, () => signer.detachSignArmored(data)),
    detachSignBinary: binary,
    detachSignBinaryMany: (data) => Promise.all(data.map(binary)),
    prehashTemplate: () => signer.prehashTemplate(),
    signPrehashed: prehashed,
    signPrehashedMany: (t, d) => Promise.all(d.map((x) => prehashed(t, x))),
  };
}
