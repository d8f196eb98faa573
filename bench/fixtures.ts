/**
 * What the benches share: synthetic packages, the bench key (for pkgpub and for gpg), and the
 * reference apt pipeline (apt-ftparchive + gpg).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { encodeAr } from '../src/formats/ar.js';
import { generateKeyPair } from '../src/signing/generate-key.js';

/** n sizes spread log-uniformly from 10 KB to 20 MB, scaled to totalMb. */
export function spreadSizes(n: number, totalMb: number): number[] {
  const raw = Array.from({ length: n }, (_, i) =>
    Math.exp(Math.log(10e3) + ((Math.log(20e6) - Math.log(10e3)) * ((i * 7919) % n)) / n),
  );
  const scale = (totalMb * 1e6) / raw.reduce((a, b) => a + b, 0);
  return raw.map((s) => Math.max(1000, Math.min(20e6, Math.round(s * scale))));
}

/** A deb built by dpkg-deb (-Znone: random payload of `bytes`) into `${dir}/debs/`. */
export function buildDeb(dir: string, name: string, version: string, bytes: number): string {
  const root = join(dir, `${name}-root`);
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'opt', name), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: Bench <bench@example.invalid>\nDescription: bench package ${name}\n payload of ${bytes} bytes\n`,
  );
  if (bytes > 0) writeFileSync(join(root, 'opt', name, 'payload'), randomBytes(bytes));
  const out = join(dir, 'debs', `${name}_${version}_amd64.deb`);
  mkdirSync(join(dir, 'debs'), { recursive: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '-Znone', '-b', root, out], { stdio: 'ignore' });
  rmSync(root, { recursive: true });
  return out;
}

async function tarOf(files: [string, Uint8Array][]): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, data] of files)
    pack.entry(
      { name, size: data.length, mode: 0o644, mtime: new Date(0), uname: 'root', gname: 'root' },
      Buffer.from(data),
    );
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The same deb as buildDeb, written in this process (ar of debian-binary, control.tar.gz and an
 * uncompressed data.tar): about 50 times faster than a dpkg-deb process, for benches that need
 * thousands.
 */
export async function writeDeb(
  outDir: string,
  name: string,
  version: string,
  bytes: number,
): Promise<string> {
  const control = `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\nMaintainer: Bench <bench@example.invalid>\nDescription: bench package ${name}\n payload of ${bytes} bytes\n`;
  const deb = encodeAr([
    { name: 'debian-binary', data: Buffer.from('2.0\n') },
    { name: 'control.tar.gz', data: gzipSync(await tarOf([['./control', Buffer.from(control)]])) },
    { name: 'data.tar', data: await tarOf([[`./opt/${name}/payload`, randomBytes(bytes)]]) },
  ]);
  const out = join(outDir, `${name}_${version}_amd64.deb`);
  writeFileSync(out, deb);
  return out;
}

/** Builds `sizes.length` rpms named `${prefix}${i}` (one random file of sizes[i] bytes each) into outDir. */
export function buildRpms(work: string, outDir: string, prefix: string, sizes: number[]): string[] {
  const top = mkdtempSync(join(work, 'top-'));
  for (const d of ['SPECS', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT', 'SOURCES']) mkdirSync(join(top, d));
  const lines = [
    `Name: ${prefix}base`,
    'Version: 1.0',
    'Release: 1',
    'Summary: bench',
    'License: MIT',
    'AutoReqProv: no',
    '%description',
    'bench',
    '%install',
  ];
  sizes.forEach((s, i) => {
    lines.push(`mkdir -p %{buildroot}/opt/${prefix}${i}`);
    lines.push(`head -c ${s} /dev/urandom > %{buildroot}/opt/${prefix}${i}/payload`);
  });
  sizes.forEach((_s, i) => {
    lines.push(`%package -n ${prefix}${i}`, `Summary: bench package ${i}`, 'AutoReqProv: no');
    lines.push(`%description -n ${prefix}${i}`, `bench package ${i}`);
    lines.push(`%files -n ${prefix}${i}`, `/opt/${prefix}${i}/payload`);
  });
  const spec = join(top, 'SPECS', 'bench.spec');
  writeFileSync(spec, `${lines.join('\n')}\n`);
  execFileSync(
    'rpmbuild',
    [
      ...['--define', `_topdir ${top}`, '--dbpath', join(top, 'db')],
      ...['--define', '_binary_payload w0.ufdio', '--define', '_build_id_links none'],
      ...['--define', '__os_install_post %{nil}', '--define', 'debug_package %{nil}'],
      ...['--define', '_source_payload w0.ufdio', '--quiet', '-bb', '--target', 'x86_64', spec],
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, HOME: top } },
  );
  mkdirSync(outDir, { recursive: true });
  const out: string[] = [];
  const dir = join(top, 'RPMS', 'x86_64');
  for (const f of readdirSync(dir)) {
    if (f.startsWith(`${prefix}base-`)) continue;
    renameSync(join(dir, f), join(outDir, f));
    out.push(join(outDir, f));
  }
  rmSync(top, { recursive: true, force: true });
  return out.sort();
}

export interface BenchKey {
  /** The armored secret key (Ed25519), also in `file`. */
  armored: string;
  file: string;
  fingerprint: string;
  /** A gpg home holding the same key, for the reference tools. */
  gnupg: string;
}

/** A fresh Ed25519 key, written to `${work}/key.asc` and imported into `${work}/gnupg`. */
export async function benchKey(work: string): Promise<BenchKey> {
  const gnupg = join(work, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const pair = await generateKeyPair({ name: 'bench', email: 'bench@example.invalid', type: 'ed25519' });
  const file = join(work, 'key.asc');
  writeFileSync(file, pair.privateArmored);
  execFileSync('gpg', ['--homedir', gnupg, '--batch', '--import', file], { stdio: 'ignore' });
  return { armored: pair.privateArmored, file, fingerprint: pair.fingerprint, gnupg };
}

/**
 * The reference apt pipeline, as a repository script runs it: `apt-ftparchive packages` over the
 * debs in `${ref}/${pool}` (relative to ref), Packages.gz and .xz, `apt-ftparchive release`, then
 * gpg's InRelease and Release.gpg, into `${ref}/dists/${suite}`.
 */
export function aptFtparchive(ref: string, pool: string, suite: string, gnupg: string): void {
  const dists = join(ref, 'dists', suite);
  const dir = join(dists, 'main', 'binary-amd64');
  mkdirSync(dir, { recursive: true });
  const packages = execFileSync('apt-ftparchive', ['packages', pool], { cwd: ref, maxBuffer: 1 << 30 });
  writeFileSync(join(dir, 'Packages'), packages);
  execFileSync('sh', ['-c', 'gzip -9kn Packages && xz -k Packages'], { cwd: dir });
  const release = execFileSync('apt-ftparchive', ['release', '.'], { cwd: dists });
  writeFileSync(join(dists, 'Release'), release);
  const g = ['--homedir', gnupg, '--batch', '--yes', '--digest-algo', 'SHA512'];
  execFileSync('gpg', [...g, '--clearsign', '-o', 'InRelease', 'Release'], { cwd: dists });
  execFileSync('gpg', [...g, '-abs', '-o', 'Release.gpg', 'Release'], { cwd: dists });
}

/** The load average as /proc/loadavg gives it (1, 5 and 15 minutes), for the figures' context. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}
