import { readCleartextMessage, readSignature, type Signature } from 'openpgp';

/**
 * The issuers of every signature in an armored block (`.asc`, Release.gpg, repomd.xml.asc) or a
 * cleartext-signed InRelease, in order: each one's issuer fingerprint (40 lower-case hex digits),
 * or its 16-digit key id when the packet names no fingerprint. [] for text that holds none.
 */
export async function signatureIssuers(text: string): Promise<string[]> {
  let sig: Signature;
  try {
    sig = text.includes('-----BEGIN PGP SIGNED MESSAGE-----')
      ? // The cleartext object keeps its signature in a field the typings leave out.
        ((await readCleartextMessage({ cleartextMessage: text })) as unknown as { signature: Signature })
          .signature
      : await readSignature({ armoredSignature: text });
  } catch {
    return [];
  }
  return sig.packets.map((p) =>
    p.issuerFingerprint
      ? Buffer.from(p.issuerFingerprint).toString('hex')
      : p.issuerKeyID.toHex().toLowerCase(),
  );
}

/** Whether `issuers` are exactly the signing keys `fingerprints` (any case), in that order. */
export function sameIssuers(issuers: readonly string[], fingerprints: readonly string[]): boolean {
  if (issuers.length !== fingerprints.length) return false;
  return fingerprints.every((f, i) => {
    const want = f.toLowerCase();
    const got = issuers[i]!;
    return got.length === 16 ? want.endsWith(got) : got === want;
  });
}
