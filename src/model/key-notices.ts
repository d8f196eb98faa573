/**
 * `.pkgpub-key-extensions.json`: the signing key extensions users must still act on. A user who saved the
 * public key before `pkgpub keys extend` holds a copy that stops verifying at its old expiry; the
 * root page says so, on every render, until that date has passed. Bookkeeping (never listed).
 */
export const KEY_NOTICES_KEY = '.pkgpub-key-extensions.json';

export interface KeyExtension {
  fingerprint: string;
  /** When `keys extend` ran. */
  date: string;
  /** When copies saved before then expire (ISO); null: they never did. */
  previousExpiry: string | null;
  expires: string;
}

export interface KeyNotices {
  extensions: KeyExtension[];
}

/** An unreadable record reads as empty: it only ever adds a notice to a page. */
export function parseKeyNotices(bytes: Uint8Array | undefined): KeyNotices {
  if (!bytes) return { extensions: [] };
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as Partial<KeyNotices>;
    const list = Array.isArray(doc.extensions) ? doc.extensions : [];
    return {
      extensions: list.filter(
        (e): e is KeyExtension =>
          typeof e?.fingerprint === 'string' &&
          typeof e.date === 'string' &&
          typeof e.expires === 'string' &&
          (e.previousExpiry === null || typeof e.previousExpiry === 'string'),
      ),
    };
  } catch {
    return { extensions: [] };
  }
}

/** Adds an extension; entries whose old copies have expired by `now` are dropped (nothing left to say). */
export function addKeyExtension(notices: KeyNotices, ext: KeyExtension, now: Date): KeyNotices {
  return { extensions: [...currentExtensions(notices, now), ext] };
}

/** The extensions whose old copies still verify at `now`, soonest first. */
export function currentExtensions(notices: KeyNotices, now: Date): KeyExtension[] {
  return notices.extensions
    .filter((e) => e.previousExpiry !== null && Date.parse(e.previousExpiry) > now.getTime())
    .sort((a, b) => (a.previousExpiry! < b.previousExpiry! ? -1 : 1));
}

export function renderKeyNotices(notices: KeyNotices): string {
  return `${JSON.stringify(notices, null, 2)}\n`;
}
