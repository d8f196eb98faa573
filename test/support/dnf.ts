import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { privateRunUser, stopAgentsUnder } from './agents.js';
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
 * A throw-away dnf setup (FIELD-NOTES): private installroot, cache, persist, log and reposdir,
 * HOME pointed inside so rpm's ~/.rpmdb stays private, and every plugin off (`plugins=0` and
 * `--noplugins`): the tests use only dnf's own commands, and plugins write to the host, e.g.
 * generate_completion_cache to /var/cache/dnf and dnf-plugins-core's `local`, which copies every
 * installed rpm into /var/lib/dnf/plugins/local and serves it as `_dnf_local` to every later dnf.
 * dnf puts cachedir, logdir and persistdir inside the installroot (root/<dir>/cache...), still in
 * scratch. Fresh per negative test, so no cached metadata can mask a failure.
 */
export async function makeDnfRoot(
  repo: DnfRepoOptions | { repoFile: string },
  id = 'pkgpubtest',
): Promise<DnfRoot> {
  await mkdir(scratchRoot, { recursive: true });
  const dir = await mkdtemp(join(scratchRoot, 'dnf-'));
  for (const d of ['root', 'repos', 'cache', 'log', 'persist', 'home', 'dl', 'tmp'])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(
    join(dir, 'dnf.conf'),
    [
      '[main]',
      `cachedir=${dir}/cache`,
      `logdir=${dir}/log`,
      `persistdir=${dir}/persist`,
      'plugins=0',
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
        '--noplugins',
        '-y',
        ...args,
      ];
      try {
        const { stdout, stderr } = await run(...privateRunUser('dnf', argv), {
          cwd: join(dir, 'dl'),
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, LC_ALL: 'C.UTF-8', HOME: join(dir, 'home'), TMPDIR: join(dir, 'tmp') },
        });
        return { code: 0, out: stdout + stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
      } finally {
        // librepo leaves a gpg-agent per repository keyring (repo_gpgcheck) running: stop it now.
        await stopAgentsUnder(dir);
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

/**
 * `rpmkeys -Kv` with a private rpm database holding only `keyFile`; returns the output and status.
 * A failed import throws with rpmkeys' output, so a signature check that fails means the
 * signature, never a key that was not imported.
 */
export async function rpmCheckSig(
  dbDir: string,
  keyFile: string,
  rpm: string,
): Promise<{ code: number; out: string }> {
  await mkdir(dbDir, { recursive: true });
  const env = { ...process.env, LC_ALL: 'C.UTF-8', HOME: dbDir };
  await run('rpmkeys', ['--dbpath', dbDir, '--import', keyFile], { env }).catch((err: unknown) => {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(
      `rpmkeys --import ${keyFile} failed (${e.code ?? String(err)}):\n${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
  });
  try {
    const { stdout, stderr } = await run(
      'rpmkeys',
      ['--dbpath', dbDir, '--define', '__gpg /usr/bin/gpg', '-Kv', rpm],
      { env },
    );
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/** Short ids (last 8 hex digits, lower case) of the keys imported into a private rpm database. */
export async function rpmdbKeyIds(dbDir: string): Promise<string[]> {
  const { stdout } = await run('rpm', ['--dbpath', dbDir, '-q', 'gpg-pubkey', '--qf', '%{VERSION}\\n'], {
    env: { ...process.env, LC_ALL: 'C.UTF-8', HOME: dbDir },
  });
  return stdout
    .split('\n')
    .map((l) => l.trim().toLowerCase())
    .filter(Boolean)
    .sort();
}
