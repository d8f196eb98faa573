import { pipeline } from 'node:stream/promises';
import { extract as tarExtract } from 'tar-stream';
import { ArError, type ArMemberHeader, ArParser } from '../formats/ar.js';
import { Deb822Error, getField, parseControl } from '../formats/deb822.js';
import {
  CONTROL_TAR_LIMIT,
  DecompressError,
  compressionFromMemberName,
  createDecompressor,
} from '../formats/decompress.js';
import { ArtifactError } from '../errors.js';
import { MultiHasher } from './checksums.js';
import type { PrehashTemplate } from '../signing/prehash.js';
import { openArtifact } from './open-file.js';
import type { Compression, ControlParagraph, DebArtifact } from './types.js';

/** debian-binary holds "2.0\n" (plus, per deb(5), possibly more lines); anything long is not one. */
const DEBIAN_BINARY_MAX = 4096;

type ArEvent =
  | { type: 'member'; header: ArMemberHeader }
  | { type: 'data'; header: ArMemberHeader; chunk: Uint8Array }
  | { type: 'end'; header: ArMemberHeader };

/**
 * The file's bytes go through the hasher and the ar parser together, so the whole file is read
 * once; the parser's callbacks become events the reader pulls at its own pace (backpressure).
 */
async function* arEvents(
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  hasher: MultiHasher,
): AsyncGenerator<ArEvent> {
  let pending: ArEvent[] = [];
  const parser = new ArParser({
    onMember: (header) => pending.push({ type: 'member', header }),
    onData: (header, chunk) => pending.push({ type: 'data', header, chunk }),
    onMemberEnd: (header) => pending.push({ type: 'end', header }),
  });
  for await (const chunk of chunks) {
    hasher.update(chunk);
    parser.push(chunk);
    const batch = pending;
    pending = [];
    yield* batch;
  }
  parser.end();
}

/** The data of the current member, up to its end event. */
async function* memberData(events: AsyncGenerator<ArEvent>): AsyncGenerator<Uint8Array> {
  for (;;) {
    const next = await events.next();
    if (next.done) return;
    if (next.value.type === 'data') yield next.value.chunk;
    else if (next.value.type === 'end') return;
  }
}

async function collectSmallMember(
  events: AsyncGenerator<ArEvent>,
  header: ArMemberHeader,
  max: number,
): Promise<Uint8Array> {
  if (header.size > max)
    throw new DebFormatError(`member "${header.name}" is too large (${header.size} bytes)`);
  const parts: Uint8Array[] = [];
  for await (const chunk of memberData(events)) parts.push(chunk);
  return Buffer.concat(parts);
}

class DebFormatError extends Error {}

function isControlName(name: string): boolean {
  return name === './control' || name === 'control';
}

/** Pipes control.tar.* through a bounded decompressor into tar-stream and keeps ./control. */
async function readControlTar(
  events: AsyncGenerator<ArEvent>,
  memberName: string,
  compression: Compression,
): Promise<Uint8Array> {
  const extract = tarExtract();
  let control: Uint8Array | undefined;
  let problem: string | undefined;
  extract.on('entry', (header, stream, next) => {
    const wanted = isControlName(header.name);
    if (wanted && control !== undefined) problem = 'has more than one control file';
    if (wanted && header.type !== 'file') problem = `its control is a ${header.type}, not a regular file`;
    const parts: Buffer[] = [];
    stream.on('data', (chunk: unknown) => {
      if (wanted) parts.push(chunk as Buffer);
    });
    stream.on('end', () => {
      if (wanted && control === undefined) control = Buffer.concat(parts);
      next();
    });
    // A failure anywhere tears the pipeline down, entry streams included; it is reported once, by
    // the pipeline, so the entry's copy of it is dropped here.
    stream.on('error', () => {});
    stream.resume();
  });
  try {
    await pipeline(memberData(events), createDecompressor(compression, CONTROL_TAR_LIMIT), extract);
  } catch (err) {
    if (err instanceof ArError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new DebFormatError(`${memberName}: ${msg}`, { cause: err });
  }
  if (problem) throw new DebFormatError(`${memberName} ${problem}`);
  if (control === undefined) throw new DebFormatError(`${memberName} has no ./control file`);
  return control;
}

function requiredField(control: ControlParagraph, name: string): string {
  const raw = getField(control, name);
  // The artifact's identity fields are single words: surrounding blanks are not part of them.
  const value = raw?.trim();
  if (!value) throw new DebFormatError(`bad control file: missing ${name} field`);
  if (/\s/.test(value))
    throw new DebFormatError(`bad control file: ${name} ${JSON.stringify(value)} has blanks`);
  return value;
}

export async function readDeb(path: string, prehash?: PrehashTemplate): Promise<DebArtifact> {
  // Fresh chunks: the parser and the control-member collector keep views of them.
  const { chunks, size, fileName, close } = await openArtifact(path);
  const hasher = new MultiHasher(undefined, prehash);
  const events = arEvents(chunks, hasher);
  try {
    let stage: 'debian-binary' | 'control' | 'data' | 'rest' = 'debian-binary';
    let control: ControlParagraph | undefined;
    let controlCompression: Compression | undefined;
    let dataCompression: Compression | undefined;
    for (;;) {
      const next = await events.next();
      if (next.done) break;
      const ev = next.value;
      if (ev.type !== 'member') continue;
      const name = ev.header.name;
      if (stage === 'debian-binary') {
        if (name !== 'debian-binary') {
          throw new DebFormatError(
            `not a Debian package: first member is "${name}", expected "debian-binary"`,
          );
        }
        const text = Buffer.from(await collectSmallMember(events, ev.header, DEBIAN_BINARY_MAX)).toString(
          'latin1',
        );
        if (!/^2\.\d+\n/.test(text)) {
          throw new DebFormatError(
            `unsupported debian-binary ${JSON.stringify(text.slice(0, 16))} (expected "2.x")`,
          );
        }
        stage = 'control';
      } else if (stage === 'control') {
        // deb(5): members starting with "_" before control.tar are reserved and ignored.
        if (name.startsWith('_')) continue;
        if (!name.startsWith('control.tar'))
          throw new DebFormatError(`missing control.tar member (found "${name}")`);
        const kind = compressionFromMemberName(name);
        if (!kind) {
          throw new DebFormatError(`unsupported control member "${name}"`);
        }
        controlCompression = kind;
        const bytes = await readControlTar(events, name, kind);
        try {
          control = parseControl(bytes);
        } catch (err) {
          if (err instanceof Deb822Error) throw new DebFormatError(`bad control file: ${err.message}`);
          throw err;
        }
        stage = 'data';
      } else if (stage === 'data') {
        if (name.startsWith('_')) continue;
        if (!name.startsWith('data.tar'))
          throw new DebFormatError(`missing data.tar member (found "${name}")`);
        const kind = compressionFromMemberName(name);
        if (!kind)
          throw new DebFormatError(`unsupported data member "${name}" (expected data.tar, .gz, .xz or .zst)`);
        dataCompression = kind;
        stage = 'rest';
      }
      // The data member and anything after it (deb(5) says to ignore extra members) are only hashed.
    }
    if (stage === 'debian-binary') throw new DebFormatError('no members: not a Debian package');
    if (!control || !controlCompression) throw new DebFormatError('missing control.tar member');
    if (!dataCompression) throw new DebFormatError('missing data.tar member');
    const signatureDigest = hasher.signatureDigest();
    const digests = hasher.digest();
    if (digests.size !== size)
      throw new DebFormatError(`changed while being read (${size} -> ${digests.size} bytes)`);
    return {
      kind: 'deb',
      path,
      fileName,
      name: requiredField(control, 'Package'),
      version: requiredField(control, 'Version'),
      arch: requiredField(control, 'Architecture'),
      size: digests.size,
      sha256: digests.sha256,
      digests,
      control,
      controlCompression,
      dataCompression,
      ...(signatureDigest ? { signatureDigest } : {}),
    };
  } catch (err) {
    throw toArtifactError(path, err);
  } finally {
    await events.return(undefined);
    close();
  }
}

function toArtifactError(path: string, err: unknown): ArtifactError {
  if (err instanceof ArtifactError) return err;
  if (err instanceof DebFormatError || err instanceof ArError || err instanceof DecompressError) {
    return new ArtifactError(path, err.message, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && typeof code === 'string' && code.startsWith('E')) {
    return new ArtifactError(path, `read failed (${code})`, { cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new ArtifactError(path, `cannot read as a .deb: ${msg}`, { cause: err });
}
