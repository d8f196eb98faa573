import { basename, dirname } from 'node:path';
import { ArtifactError } from '../errors.js';
import { driverArch } from './arch-names.js';
import { MultiHasher } from './checksums.js';
import type { PrehashTemplate } from '../signing/prehash.js';
import { openArtifact } from './open-file.js';
import type { DriverArtifact } from './types.js';

export interface DriverContext {
  driverVersion: string;
  arch: string;
}

export interface DriverName {
  name: string;
  target: string;
  kernelRelease: string;
  kernelVersion: string;
  driverKind: 'kmod' | 'ebpf';
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;

/**
 * Splits `<name>_<target>_<kernelrelease>_<kernelversion>.{ko,o}`.
 *
 * Names and targets never hold `_`, so they end at the first and second underscore. The rest is
 * ambiguous, because both kernel fields can hold underscores of their own:
 * - kernel releases: the arch suffix of RHEL-family and Amazon kernels (`4.14.355-...amzn2.x86_64`)
 *   and RHEL minor releases (`4.18.0-513.5.1.el8_9.x86_64`);
 * - kernel versions: minikube and Bottlerocket prefix a build number (`1_1.26.0`, `1_1.13.1-aws`).
 * So, with `x86_64` kept whole, the kernel version is the last `_`-part, plus the part before it
 * when that part is all digits; the kernel release is what lies between. Splitting on the first
 * three underscores instead would cut every `x86_64` kernel release in two.
 * Every other character (`+ ~ - .`) is kept as written: the loader on the user's machine rebuilds
 * this exact name from uname. Returns a reason string when the name does not fit.
 */
export function parseDriverName(fileName: string): DriverName | string {
  let driverKind: DriverName['driverKind'];
  let stem: string;
  if (fileName.endsWith('.ko')) {
    driverKind = 'kmod';
    stem = fileName.slice(0, -3);
  } else if (fileName.endsWith('.o')) {
    driverKind = 'ebpf';
    stem = fileName.slice(0, -2);
  } else {
    return 'driver file name must end in .ko (kernel module) or .o (eBPF probe)';
  }
  const expected = 'expected <name>_<target>_<kernelrelease>_<kernelversion>.{ko,o}';
  if (/[\s\x00-\x1f\x7f]/.test(stem))
    return `driver file name holds whitespace or control characters; ${expected}`;

  const first = stem.indexOf('_');
  const second = first < 0 ? -1 : stem.indexOf('_', first + 1);
  const kernelParts = second < 0 ? [] : splitKeepingArch(stem.slice(second + 1));
  if (kernelParts.length < 2) return `driver file name has fewer than four '_'-separated parts; ${expected}`;
  const name = stem.slice(0, first);
  const target = stem.slice(first + 1, second);
  const kvStart = kernelParts.length >= 3 && /^[0-9]+$/.test(kernelParts.at(-2)!) ? -2 : -1;
  const kernelRelease = kernelParts.slice(0, kvStart).join('_');
  const kernelVersion = kernelParts.slice(kvStart).join('_');

  const labels = ['name', 'target', 'kernel release', 'kernel version'];
  const empty = [name, target, kernelRelease, kernelVersion].indexOf('');
  if (empty >= 0) return `driver file name has an empty ${labels[empty]}; ${expected}`;
  return { name, target, kernelRelease, kernelVersion, driverKind };
}

/** Splits on `_` except inside `x86_64`, the one arch name that holds an underscore. */
function splitKeepingArch(s: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = s.indexOf('_'); i >= 0; i = s.indexOf('_', i + 1)) {
    if (i >= 3 && s.startsWith('x86_64', i - 3)) continue;
    parts.push(s.slice(start, i));
    start = i + 1;
  }
  parts.push(s.slice(start));
  return parts;
}

/**
 * Falco's driver versions are semver with build metadata (`7.0.0+driver`); the oldest were git
 * commit ids. Anything else found in a folder name is more likely an unrelated folder (`/tmp`)
 * than a driver version, so folders must look like one; a flag is taken as given.
 */
export const FOLDER_DRIVER_VERSION = /^(?:[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]*)?|[0-9a-f]{7,40})$/;

function placement(
  path: string,
  ctx: Partial<DriverContext>,
): { driverVersion: string; arch: string } | string {
  const hint = 'pass --driver-version and --arch, or put it under <driver_version>/<arch>/';
  const archDir = dirname(path);
  const folderArch = driverArch(basename(archDir));

  let arch: string | undefined;
  if (ctx.arch !== undefined && ctx.arch !== '') {
    arch = driverArch(ctx.arch);
    if (arch === undefined) return `arch '${ctx.arch}' is not x86_64 or aarch64 (amd64/arm64 also accepted)`;
  } else {
    arch = folderArch;
  }

  let driverVersion: string | undefined;
  if (ctx.driverVersion !== undefined && ctx.driverVersion !== '') {
    if (!validKeySegment(ctx.driverVersion)) {
      return `driver version '${ctx.driverVersion}' cannot be a folder name (no '/', whitespace, '.' or '..')`;
    }
    driverVersion = ctx.driverVersion;
  } else if (folderArch !== undefined) {
    const v = basename(dirname(archDir));
    if (FOLDER_DRIVER_VERSION.test(v)) driverVersion = v;
  }

  if (arch === undefined && driverVersion === undefined) return `cannot tell driver version or arch: ${hint}`;
  if (arch === undefined) return `cannot tell the arch: ${hint}`;
  if (driverVersion === undefined) return `cannot tell the driver version: ${hint}`;
  return { driverVersion, arch };
}

function validKeySegment(s: string): boolean {
  return s !== '.' && s !== '..' && !/[/\\\s\x00-\x1f\x7f]/.test(s);
}

/**
 * Reads a prebuilt driver: its identity comes from the file name and the folders around it (or
 * flags), its content is only checked to be an ELF object and hashed whole in one pass (sha256 only).
 */
export async function readDriver(
  path: string,
  ctx: Partial<DriverContext> = {},
  // Taken like every reader's, and ignored: drivers get no .asc (see driverSection), so a
  // signature digest per driver would only be 100,000 more strings held through a publish.
  _prehash?: PrehashTemplate,
): Promise<DriverArtifact> {
  const parsed = parseDriverName(basename(path));
  if (typeof parsed === 'string') throw new ArtifactError(path, parsed);
  const where = placement(path, ctx);
  if (typeof where === 'string') throw new ArtifactError(path, where);

  const { chunks, fileName } = await openArtifact(path, { reuse: true });
  // The driver index lists sha256 alone; md5, sha1 and sha512 would cost time to compute and, held
  // for 100,000 drivers of one version, tens of MB to keep.
  const hasher = new MultiHasher(['sha256']);
  const head: number[] = [];
  const isElf = () => ELF_MAGIC.every((b, i) => head[i] === b);
  try {
    for await (const chunk of chunks) {
      for (let i = 0; head.length < ELF_MAGIC.length && i < chunk.length; i++) head.push(chunk[i]!);
      // Leaving the loop closes the file: no point hashing the rest of what is not a driver.
      if (head.length === ELF_MAGIC.length && !isElf()) break;
      hasher.update(chunk);
    }
  } catch (err) {
    throw new ArtifactError(path, `read failed (${(err as Error).message})`, { cause: err });
  }
  if (!isElf()) {
    const kind = parsed.driverKind === 'kmod' ? 'kernel module' : 'eBPF object';
    throw new ArtifactError(path, `not an ELF file (no \\x7fELF magic), so not a ${kind}`);
  }

  const digests = hasher.digest();
  return {
    kind: 'driver',
    path,
    fileName,
    name: parsed.name,
    version: where.driverVersion,
    arch: where.arch,
    size: digests.size,
    sha256: digests.sha256,
    digests,
    driverKind: parsed.driverKind,
    target: parsed.target,
    kernelRelease: parsed.kernelRelease,
    kernelVersion: parsed.kernelVersion,
    driverVersion: where.driverVersion,
  };
}
