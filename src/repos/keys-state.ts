import { SigningError, StorageError } from '../errors.js';
import { MultiSigner, signersOf } from '../signing/multi-signer.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * `.pkgpub-keys.json`: where a key rotation stands, so every later command signs as the rotation
 * says (which keys, which one first) whatever key its caller happens to hold. Fingerprints only.
 */
export const KEYS_STATE_KEY = '.pkgpub-keys.json';

/**
 * add: the new key is published beside the old one and co-signs what clients trust the
 * repository by; packages are still signed by the old key.
 * switch: packages are signed by the new key; both keys still sign the pointers.
 * retired: the new key alone; the old one is no longer published or used.
 */
export type RotationPhase = 'add' | 'switch' | 'retired';

export interface KeyRef {
  /** Primary key fingerprint, 40 hex digits upper case. */
  fingerprint: string;
  /** The (sub)key that makes its signatures. */
  signingKey: string;
}

export interface KeysState {
  phase: RotationPhase;
  old: KeyRef;
  new: KeyRef;
  /** When the phase was entered (ISO time). */
  since: string;
}

export const keyRef = (s: Signer): KeyRef => ({
  fingerprint: s.fingerprint,
  signingKey: s.signingKeyFingerprint,
});

const FPR = /^[0-9A-F]{40}$/;

export function parseKeysState(bytes: Uint8Array | undefined): KeysState | undefined {
  if (!bytes) return undefined;
  let v: Partial<KeysState>;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<KeysState>;
  } catch {
    throw new StorageError(
      `${KEYS_STATE_KEY} is not JSON; it records a key rotation and must be repaired by hand`,
    );
  }
  const ok = (k: unknown): k is KeyRef =>
    typeof k === 'object' &&
    k !== null &&
    FPR.test((k as KeyRef).fingerprint) &&
    FPR.test((k as KeyRef).signingKey);
  if (!['add', 'switch', 'retired'].includes(v.phase as string) || !ok(v.old) || !ok(v.new))
    throw new StorageError(`${KEYS_STATE_KEY} does not describe a key rotation; it must be repaired by hand`);
  return { phase: v.phase!, old: v.old, new: v.new, since: String(v.since ?? '') };
}

export function renderKeysState(s: KeysState): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}

export async function readKeysState(store: ObjectStore): Promise<KeysState | undefined> {
  return parseKeysState(await store.get(KEYS_STATE_KEY));
}

/**
 * The signer a command must use on a tree in `state`, from the keys its caller loaded (the
 * signing key and, during a rotation, the new key): both keys, the one that signs packages first,
 * until the old key is retired; the new key alone after. Without a rotation, the first key.
 */
export function rotationSigner(state: KeysState | undefined, keys: readonly Signer[]): Signer {
  const first = keys[0];
  if (!first) throw new SigningError('no signing key');
  if (!state) return first;
  const find = (k: KeyRef) => keys.find((s) => s.fingerprint === k.fingerprint);
  const oldKey = find(state.old);
  const newKey = find(state.new);
  if (state.phase === 'retired') {
    if (newKey) return newKey;
    if (oldKey)
      throw new SigningError(
        `key ${state.old.fingerprint} was retired by \`pkgpub keys rotate retire\`; sign with ${state.new.fingerprint}`,
      );
    // A rotation long finished, and a key that is neither: that is a new rotation's business.
    return first;
  }
  const missing = [
    ...(oldKey ? [] : [`the old key ${state.old.fingerprint} (--signing-key or PKGPUB_SIGNING_KEY)`]),
    ...(newKey ? [] : [`the new key ${state.new.fingerprint} (PKGPUB_NEW_SIGNING_KEY or --new-key)`]),
  ];
  if (missing.length > 0)
    throw new SigningError(
      `a key rotation is in phase "${state.phase}" in this tree: every command that signs needs both keys; missing ${missing.join(' and ')}`,
    );
  return new MultiSigner(state.phase === 'add' ? [oldKey!, newKey!] : [newKey!, oldKey!]);
}

/**
 * Checks, inside a transaction, that the signer chosen before it from the state read then is still
 * the one the state asks for: a rotation that moved on meanwhile would otherwise have this command
 * sign packages with the key it just left behind.
 */
export function assertSignerFits(state: KeysState | undefined, signer: Signer): void {
  const have = signersOf(signer).map((s) => s.fingerprint);
  if (!state) {
    if (have.length === 1) return;
  } else {
    const want =
      state.phase === 'add'
        ? [state.old.fingerprint, state.new.fingerprint]
        : state.phase === 'switch'
          ? [state.new.fingerprint, state.old.fingerprint]
          : [state.new.fingerprint];
    // A retired rotation leaves any other single key free to sign (a later rotation adds it).
    if (
      want.join() === have.join() ||
      (state.phase === 'retired' && have.length === 1 && have[0] !== state.old.fingerprint)
    )
      return;
  }
  throw new SigningError(
    `the key rotation of this tree changed while this command ran (now: ${state ? `phase "${state.phase}"` : 'none'}); run it again`,
  );
}
