import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DriverContext, parseDriverName, readDriver } from '../../src/artifacts/read-driver.js';
import { ArtifactError } from '../../src/errors.js';
import { fixturesDir, samplesDir, scratchRoot } from '../support/paths.js';

const driverRoot = join(fixturesDir, 'driver');
const badDir = join(fixturesDir, 'bad');
const goodKo = join(driverRoot, '7.0.0+driver', 'x86_64', 'falco_ubuntu-generic_5.15.0-91-generic_101.ko');
let scratch: string;

beforeAll(() => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'read-driver-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function digestOf(algo: string, data: Buffer): string {
  return createHash(algo).update(data).digest('hex');
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Places a copy of `src` at `dir/fileName` under the scratch folder. */
function place(dir: string, fileName: string, src = goodKo): string {
  const d = join(scratch, dir);
  mkdirSync(d, { recursive: true });
  const p = join(d, fileName);
  copyFileSync(src, p);
  return p;
}

async function expectRefused(
  path: string,
  reason: RegExp,
  ctx?: Partial<DriverContext>,
): Promise<ArtifactError> {
  const err = await readDriver(path, ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `${path} should be refused`).toBeInstanceOf(ArtifactError);
  const ae = err as ArtifactError;
  expect(ae.code).toBe('artifact');
  expect(ae.file).toBe(path);
  expect(ae.message).toContain(path);
  expect(ae.reason).toMatch(reason);
  return ae;
}

describe('parseDriverName', () => {
  // Names as download.falco.org serves them (driver/<ver>/<arch>/...).
  it.each([
    [
      'falco_ubuntu-generic_5.15.0-91-generic_101.ko',
      'falco',
      'ubuntu-generic',
      '5.15.0-91-generic',
      '101',
      'kmod',
    ],
    [
      'falco_ubuntu-generic_5.15.0-91-generic_101.o',
      'falco',
      'ubuntu-generic',
      '5.15.0-91-generic',
      '101',
      'ebpf',
    ],
    [
      'falco_ubuntu-aws_5.15.0-1034-aws_36~20.04.1.ko',
      'falco',
      'ubuntu-aws',
      '5.15.0-1034-aws',
      '36~20.04.1',
      'kmod',
    ],
    [
      'falco_ubuntu-generic_5.15.0-1034-aws_26~22.04.1.o',
      'falco',
      'ubuntu-generic',
      '5.15.0-1034-aws',
      '26~22.04.1',
      'ebpf',
    ],
    ['falco_minikube_5.10.57_1_1.26.0.ko', 'falco', 'minikube', '5.10.57', '1_1.26.0', 'kmod'],
    [
      'falco_bottlerocket_5.10.165_1_1.13.1-aws.o',
      'falco',
      'bottlerocket',
      '5.10.165',
      '1_1.13.1-aws',
      'ebpf',
    ],
    [
      'falco_amazonlinux2_4.14.355-275.570.amzn2.x86_64_1.ko',
      'falco',
      'amazonlinux2',
      '4.14.355-275.570.amzn2.x86_64',
      '1',
      'kmod',
    ],
    [
      'falco_amazonlinux2022_5.15.29-16.111.amzn2022.x86_64_1.o',
      'falco',
      'amazonlinux2022',
      '5.15.29-16.111.amzn2022.x86_64',
      '1',
      'ebpf',
    ],
    ['falco_debian_6.1.0-13-amd64_1.ko', 'falco', 'debian', '6.1.0-13-amd64', '1', 'kmod'],
    ['falco_debian_5.10.0-26-cloud-amd64_1.o', 'falco', 'debian', '5.10.0-26-cloud-amd64', '1', 'ebpf'],
    ['falco_centos_3.10.0-1160.el7.x86_64_1.ko', 'falco', 'centos', '3.10.0-1160.el7.x86_64', '1', 'kmod'],
    ['falco_flatcar_3602.2.1_1.o', 'falco', 'flatcar', '3602.2.1', '1', 'ebpf'],
    ['falco_talos_6.1.58-talos_1.ko', 'falco', 'talos', '6.1.58-talos', '1', 'kmod'],
    ['falco_archlinux_6.6.1-arch1-1_1.ko', 'falco', 'archlinux', '6.6.1-arch1-1', '1', 'kmod'],
    [
      'falco_ol_5.4.17-2136.300.7.el8uek.x86_64_2.ko',
      'falco',
      'ol',
      '5.4.17-2136.300.7.el8uek.x86_64',
      '2',
      'kmod',
    ],
    [
      'falco_rocky_4.18.0-513.5.1.el8_9.x86_64_1.ko',
      'falco',
      'rocky',
      '4.18.0-513.5.1.el8_9.x86_64',
      '1',
      'kmod',
    ],
    [
      'falco_almalinux_5.14.0-362.8.1.el9_3.aarch64_1.o',
      'falco',
      'almalinux',
      '5.14.0-362.8.1.el9_3.aarch64',
      '1',
      'ebpf',
    ],
    [
      'falco_centos_4.18.0-348.7.1.el8_5.x86_64_12.ko',
      'falco',
      'centos',
      '4.18.0-348.7.1.el8_5.x86_64',
      '12',
      'kmod',
    ],
    ['falco_minikube_4.19.202_1_1.24.3.o', 'falco', 'minikube', '4.19.202', '1_1.24.3', 'ebpf'],
    ['falco_photon_5.10.152-2.ph4+esx_1.o', 'falco', 'photon', '5.10.152-2.ph4+esx', '1', 'ebpf'],
    ['falco_opensuse_6.5.9-1-default_1.ko', 'falco', 'opensuse', '6.5.9-1-default', '1', 'kmod'],
  ])('%s', (file, name, target, kernelRelease, kernelVersion, driverKind) => {
    expect(parseDriverName(file)).toEqual({ name, target, kernelRelease, kernelVersion, driverKind });
  });

  it.each([
    ['falco_ubuntu-generic_5.15.0-91-generic.ko', /fewer than four/],
    ['falco_ubuntu-generic.o', /fewer than four/],
    ['falco.ko', /fewer than four/],
    ['_ubuntu-generic_5.15.0_1.ko', /empty name/],
    ['falco__5.15.0_1.ko', /empty target/],
    ['falco_debian__1.ko', /empty kernel release/],
    ['falco_debian_6.1.0_.ko', /empty kernel version/],
    ['falco_debian_6.1.0 13_1.ko', /whitespace/],
    ['falco_debian_6.1.0-13-amd64_1.ko.gz', /\.ko .*\.o/],
    ['falco_debian_6.1.0-13-amd64_1', /\.ko .*\.o/],
  ])('refuses %s', (file, reason) => {
    const r = parseDriverName(file);
    expect(typeof r).toBe('string');
    expect(r).toMatch(reason);
  });
});

describe('readDriver on ELF objects built by gcc', () => {
  const files = listFiles(driverRoot);

  it('has the fixture set', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    expect(files.some((f) => f.includes(`8.0.0+driver${sep}aarch64${sep}`))).toBe(true);
    expect(files.some((f) => f.endsWith('falco_minikube_5.10.57_1_1.26.0.ko'))).toBe(true);
  });

  it.each(files.map((f) => [relative(driverRoot, f), f]))('%s', async (_rel, path) => {
    const bytes = readFileSync(path);
    const [ver, arch, fileName] = relative(driverRoot, path).split(sep) as [string, string, string];
    const a = await readDriver(path);
    expect(a.kind).toBe('driver');
    expect(a.path).toBe(path);
    expect(a.fileName).toBe(fileName);
    expect(a.driverVersion).toBe(ver);
    expect(a.version).toBe(ver);
    expect(a.arch).toBe(arch);
    expect(a.driverKind).toBe(fileName.endsWith('.ko') ? 'kmod' : 'ebpf');
    expect(a.size).toBe(bytes.length);
    // sha256 only: the driver index lists nothing else.
    expect(a.digests).toEqual({ size: bytes.length, sha256: digestOf('sha256', bytes) });
    expect(a.sha256).toBe(a.digests.sha256);
    // Joining the parts back must give the file name exactly: nothing dropped or rewritten.
    const ext = a.driverKind === 'kmod' ? '.ko' : '.o';
    expect(`${a.name}_${a.target}_${a.kernelRelease}_${a.kernelVersion}${ext}`).toBe(fileName);
  });

  it('keeps the underscore in the minikube kernel version', async () => {
    const a = await readDriver(
      join(driverRoot, '7.0.0+driver', 'x86_64', 'falco_minikube_5.10.57_1_1.26.0.ko'),
    );
    expect(a.kernelRelease).toBe('5.10.57');
    expect(a.kernelVersion).toBe('1_1.26.0');
    expect(a.name).toBe('falco');
  });

  it('hashes a file larger than one read chunk whole', async () => {
    const big = Buffer.concat([readFileSync(goodKo), Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a)]);
    const path = join(scratch, 'big', '7.0.0+driver', 'x86_64', 'falco_debian_6.1.0-13-amd64_1.ko');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, big);
    const a = await readDriver(path);
    expect(a.size).toBe(big.length);
    expect(a.digests.sha256).toBe(digestOf('sha256', big));
  });
});

describe('driver version and arch', () => {
  it('folds amd64/arm64 folders onto x86_64/aarch64', async () => {
    const a = await readDriver(place('fold/7.0.0+driver/amd64', 'falco_debian_6.1.0-13-amd64_1.ko'));
    expect(a.arch).toBe('x86_64');
    const b = await readDriver(place('fold/7.0.0+driver/arm64', 'falco_debian_6.1.0-13-arm64_1.o'));
    expect(b.arch).toBe('aarch64');
    expect(b.driverVersion).toBe('7.0.0+driver');
  });

  it('accepts a git-commit driver version folder, as Falco used before 2.0.0', async () => {
    const v = '2aa88dcf6243982697811df4c1b484bcbe9488a2';
    const a = await readDriver(place(`old/${v}/x86_64`, 'falco_centos_3.10.0-1160.el7.x86_64_1.ko'));
    expect(a.driverVersion).toBe(v);
  });

  it('takes both from the context when the folders say nothing', async () => {
    const path = join(badDir, 'falco_debian_6.1.0-13-amd64_1.ko');
    await expectRefused(path, /--driver-version.*--arch/);
    const a = await readDriver(path, { driverVersion: '8.0.0+driver', arch: 'arm64' });
    expect(a.driverVersion).toBe('8.0.0+driver');
    expect(a.version).toBe('8.0.0+driver');
    expect(a.arch).toBe('aarch64');
  });

  it('lets the context override the folders', async () => {
    const a = await readDriver(goodKo, { driverVersion: '9.9.9+driver', arch: 'aarch64' });
    expect(a.driverVersion).toBe('9.9.9+driver');
    expect(a.arch).toBe('aarch64');
  });

  it('mixes a folder arch with a context driver version', async () => {
    const a = await readDriver(place('mix/not-a-version/x86_64', 'falco_debian_6.1.0-13-amd64_1.ko'), {
      driverVersion: '7.0.0+driver',
    });
    expect(a.arch).toBe('x86_64');
    expect(a.driverVersion).toBe('7.0.0+driver');
  });

  it('refuses an arch folder under a folder that is no driver version', async () => {
    await expectRefused(
      place('loose/not-a-version/x86_64', 'falco_debian_6.1.0-13-amd64_1.ko'),
      /driver version.*--driver-version/,
    );
  });

  it('refuses a version folder without an arch folder', async () => {
    await expectRefused(place('noarch/7.0.0+driver', 'falco_debian_6.1.0-13-amd64_1.ko'), /arch.*--arch/);
  });

  it.each(['ppc64le', 's390x', 'noarch', 'X86_64'])('refuses arch %s from the context', async (arch) => {
    await expectRefused(goodKo, /not x86_64 or aarch64/, { arch });
  });

  it.each(['a/b', '..', 'with space'])(
    'refuses driver version %j from the context',
    async (driverVersion) => {
      await expectRefused(goodKo, /cannot be a folder name/, { driverVersion });
    },
  );
});

describe('readDriver refuses what is not a driver', () => {
  it('a file without ELF magic', async () => {
    await expectRefused(
      join(badDir, 'driver', '7.0.0+driver', 'x86_64', 'falco_ubuntu-generic_5.15.0-91-generic_101.ko'),
      /not an ELF/,
    );
  });

  it('a file shorter than the magic', async () => {
    const path = join(scratch, 'short', '7.0.0+driver', 'x86_64', 'falco_debian_6.1.0-13-amd64_1.o');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, Buffer.from([0x7f, 0x45]));
    await expectRefused(path, /not an ELF/);
  });

  it('an empty file', async () => {
    const path = join(scratch, 'empty', '7.0.0+driver', 'x86_64', 'falco_debian_6.1.0-13-amd64_1.ko');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '');
    await expectRefused(path, /empty/);
  });

  it('a directory', async () => {
    const path = join(scratch, 'dir', '7.0.0+driver', 'x86_64', 'falco_debian_6.1.0-13-amd64_1.ko');
    mkdirSync(path, { recursive: true });
    await expectRefused(path, /directory/);
  });

  it('a missing file', async () => {
    await expectRefused(join(driverRoot, '7.0.0+driver', 'x86_64', 'falco_nowhere_1.0_1.ko'), /no such file/);
  });

  it('a name that does not split', async () => {
    await expectRefused(place('name/7.0.0+driver/x86_64', 'falco_debian.ko'), /fewer than four/);
  });
});

describe('the committed samples', () => {
  it('read as drivers of 7.0.0+driver for x86_64', async () => {
    const dir = join(samplesDir, 'driver', '7.0.0+driver', 'x86_64');
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const path = join(dir, f);
      const a = await readDriver(path);
      expect(a.driverVersion).toBe('7.0.0+driver');
      expect(a.arch).toBe('x86_64');
      expect(a.sha256).toBe(digestOf('sha256', readFileSync(path)));
    }
  });
});
