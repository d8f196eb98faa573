import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scratchRoot } from './paths.js';

const run = promisify(execFile);

export interface RpmSpec {
  name: string;
  version: string;
  release?: string;
  /** noarch, x86_64 or aarch64. */
  arch: string;
  /** Text of the one installed file (/opt/<name>/payload), so two builds can differ. */
  payload?: string;
  requires?: string[];
}

/**
 * Builds small, dependency-free rpms with the real rpmbuild into `outDir`, in a private topdir
 * and rpm database (nothing lands in ~/.rpmdb or ~/rpmbuild). Returns the built files' paths.
 */
export async function buildRpms(outDir: string, specs: RpmSpec[]): Promise<string[]> {
  await mkdir(scratchRoot, { recursive: true });
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(scratchRoot, 'rpmbuild-'));
  const out: string[] = [];
  try {
    for (const s of specs) {
      const top = join(work, `${s.name}-${s.arch}`);
      for (const d of ['SPECS', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT', 'SOURCES'])
        await mkdir(join(top, d), { recursive: true });
      const spec = join(top, 'SPECS', `${s.name}.spec`);
      const payload = (s.payload ?? `${s.name} ${s.version}`).replace(/'/g, '');
      await writeFile(
        spec,
        [
          `Name: ${s.name}`,
          `Version: ${s.version}`,
          `Release: ${s.release ?? '1'}`,
          `Summary: test package ${s.name}`,
          'License: MIT',
          ...(s.arch === 'noarch' ? ['BuildArch: noarch'] : []),
          ...(s.requires ?? []).map((r) => `Requires: ${r}`),
          'AutoReqProv: no',
          '',
          '%description',
          `Test package ${s.name} <&> for pkgpub.`,
          '',
          '%install',
          `mkdir -p %{buildroot}/opt/${s.name}`,
          `printf '%s\\n' '${payload}' > %{buildroot}/opt/${s.name}/payload`,
          '',
          '%files',
          `/opt/${s.name}/payload`,
          '',
        ].join('\n'),
      );
      await run(
        'rpmbuild',
        [
          '--define',
          `_topdir ${top}`,
          '--dbpath',
          join(work, 'db'),
          '--define',
          '_build_id_links none',
          '--define',
          '__os_install_post %{nil}',
          '--define',
          'debug_package %{nil}',
          '--quiet',
          '-bb',
          ...(s.arch === 'noarch' ? [] : ['--target', s.arch]),
          spec,
        ],
        { env: { ...process.env, HOME: work } },
      );
      const dir = join(top, 'RPMS', s.arch);
      for (const f of await readdir(dir)) {
        await rename(join(dir, f), join(outDir, f));
        out.push(join(outDir, f));
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return out;
}
