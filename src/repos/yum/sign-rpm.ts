import { parsePgpSignature } from '../../formats/pgp-signature-packet.js';
import {
  encodeHeader,
  LEAD_SIZE,
  RPM_TYPE,
  RPMSIGTAG,
  RPMTAG,
  type RpmEntryInput,
  RpmFormatError,
  type RpmHeader,
  signaturePadding,
} from '../../formats/rpm-header.js';

/** The signature tags a re-sign removes: every OpenPGP signature the package carried. */
const SIGNATURE_TAGS: ReadonlySet<number> = new Set([
  RPMSIGTAG.DSA,
  RPMSIGTAG.RSA,
  RPMSIGTAG.PGP,
  RPMSIGTAG.GPG,
  RPMSIGTAG.OPENPGP,
]);

/**
 * Which tag rpmsign stores a header signature under: RSA keys go to RSAHEADER (268), every
 * other algorithm (DSA, ECDSA, EdDSA) to DSAHEADER (267) — what rpm 4.18's rpmsign does with
 * an ed25519 key on this machine.
 */
export function headerSignatureTag(packet: Uint8Array): number {
  const info = parsePgpSignature(packet);
  if (!info) throw new RpmFormatError('not an OpenPGP signature packet');
  return info.algorithm.startsWith('RSA/') ? RPMSIGTAG.RSA : RPMSIGTAG.DSA;
}

/**
 * A new signature header: the old one without its OpenPGP signatures, plus `packet` (a v4
 * signature over the main header bytes). As rpmsign does, RESERVEDSPACE shrinks by what the
 * signature adds so the header keeps its size and the main header and payload keep their file
 * offsets; without enough reserved space the header simply grows.
 */
export function signatureHeaderWith(sig: RpmHeader, packet: Uint8Array): Uint8Array {
  const tag = headerSignatureTag(packet);
  const kept = sig.toInputs().filter((e) => !SIGNATURE_TAGS.has(e.tag) && e.tag !== RPMSIGTAG.RESERVEDSPACE);
  const inputs: RpmEntryInput[] = [...kept, { tag, type: RPM_TYPE.BIN, value: packet }];
  const encode = (reserved: number) =>
    encodeHeader(
      reserved > 0
        ? [...inputs, { tag: RPMSIGTAG.RESERVEDSPACE, type: RPM_TYPE.BIN, value: new Uint8Array(reserved) }]
        : inputs,
      { region: RPMTAG.HEADERSIGNATURES },
    );
  if (!sig.has(RPMSIGTAG.RESERVEDSPACE)) return encode(0);
  const target = sig.byteLength;
  const probe = encode(1);
  // Data alignment after RESERVEDSPACE can move by a few bytes; try the exact fit and its neighbours.
  for (const r of [target - probe.length + 1, target - probe.length, target - probe.length + 2]) {
    if (r < 1) continue;
    const out = encode(r);
    if (out.length === target) return out;
  }
  return encode(0);
}

/** The bytes that go before the untouched main header: lead, signature header, padding. */
export function signedPrefix(lead: Uint8Array, signatureHeader: Uint8Array): Uint8Array {
  if (lead.length !== LEAD_SIZE) throw new RpmFormatError('lead must be 96 bytes');
  const pad = signaturePadding(signatureHeader.length);
  const out = new Uint8Array(LEAD_SIZE + signatureHeader.length + pad);
  out.set(lead, 0);
  out.set(signatureHeader, LEAD_SIZE);
  return out;
}
