import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scratchRoot } from './paths.js';

const run = promisify(execFile);

export interface DnfRoot {
  dir: string;
  /** Runs dnf against this private root, config and cache; never touches the system's dnf or rpm state. */
  dnf(args: string[], arch?: string): Promise<{ code: number; out: string }>;
}

export interface DnfRepoOptions {
  baseurl: string;
  /** file:// URL or path of the key dnf must trust; absent for an unsigned repository. */
  gpgkey?: string;
  gpgcheck?: boolean;
  repoGpgcheck?: boolean;
}

/**
 * A throw-away dnf setup (FIELD-NOTES): private installroot, cache, reposdir and config, the
 * completion-cache plugin off (it writes to /var/cache/dnf), HOME pointed inside so rpm's
 * ~/.rpmdb stays private. Fresh per negative test, so no cached metadata can mask a failure.
 */
export async function makeDnfRoot(
  repo: DnfRepoOptions | { repoFile: string },
  id = 'pkgpubtest',
): Promise<DnfRoot> {
  await mkdir(scratchRoot, { recursive: true });
  const dir = await mkdtemp(join(scratchRoot, 'dnf-'));
  for (const d of ['root', 'repos', 'cache', 'log', 'persist', 'home', 'dl'])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(
    join(dir, 'dnf.conf'),
    [
      '[main]',
      `cachedir=${dir}/cache`,
      `logdir=${dir}/log`,
      `persistdir=${dir}/persist`,
      'keepcache=0',
      'install_weak_deps=0',
      'metadata_expire=0',
      '',
    ].join('\n'),
  );
  if ('repoFile' in repo) {
    await writeFile(join(dir, 'repos', 'published.repo'), repo.repoFile);
  } else {
    const gpgcheck = repo.gpgcheck ?? Boolean(repo.gpgkey);
    const repoGpgcheck = repo.repoGpgcheck ?? Boolean(repo.gpgkey);
    const key = repo.gpgkey
      ? repo.gpgkey.startsWith('file://')
        ? repo.gpgkey
        : `file://${repo.gpgkey}`
      : undefined;
    await writeFile(
      join(dir, 'repos', `${id}.repo`),
      [
        `[${id}]`,
        `name=${id}`,
        `baseurl=${repo.baseurl}`,
        `gpgcheck=${gpgcheck ? 1 : 0}`,
        `repo_gpgcheck=${repoGpgcheck ? 1 : 0}`,
        ...(key ? [`gpgkey=${key}`] : []),
        '',
      ].join('\n'),
    );
  }
  return {
    dir,
    async dnf(args, arch = 'x86_64') {
      const argv = [
        '-c',
        join(dir, 'dnf.conf'),
        `--installroot=${dir}/root`,
        '--releasever=9',
        `--forcearch=${arch}`,
        `--setopt=reposdir=${dir}/repos`,
        '--disableplugin=generate_completion_cache',
        '-y',
        ...args,
      ];
      try {
        const { stdout, stderr } = await run('dnf', argv, {
          cwd: join(dir, 'dl'),
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, LC_ALL: 'C.UTF-8', HOME: join(dir, 'home') },
        });
        return { code: 0, out: stdout + stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
      }
    },
  };
}

/** NEVRAs dnf knows from the repository (repoquery), sorted. */
export async function dnfNevras(root: DnfRoot, arch = 'x86_64'): Promise<string[]> {
  const res = await root.dnf(
    ['-q', 'repoquery', '--qf', '%{name}-%{epoch}:%{version}-%{release}.%{arch}'],
    arch,
  );
  if (res.code !== 0) throw new Error(`dnf repoquery failed (${res.code}):\n${res.out}`);
  return res.out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^\S+-\d+:\S+-\S+\.\S+$/.test(l))
    .sort();
}

/** `rpmkeys -Kv` with a private rpm database holding only `keyFile`; returns the output and status. */
export async function rpmCheckSig(
  dbDir: string,
  keyFile: string,
  rpm: string,
): Promise<{ code: number; out: string }> {
  await mkdir(dbDir, { recursive: true });
  await run('rpmkeys', ['--dbpath', dbDir, '--import', keyFile]).catch(() => undefined);
  try {
    const { stdout, stderr } = await run(
      'rpmkeys',
      ['--dbpath', dbDir, '--define', '__gpg /usr/bin/gpg', '-Kv', rpm],
      {
        env: { ...process.env, LC_ALL: 'C.UTF-8', HOME: dbDir },
      },
    );
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}
