import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { privateRunUser } from './agents.js';
import { scratchRoot } from './paths.js';

const run = promisify(execFile);

export interface AptRoot {
  dir: string;
  /** Runs apt-get (or apt-cache) against this private root; never touches the system's apt state. */
  apt(
    tool: 'apt-get' | 'apt-cache',
    args: string[],
    extra?: string[],
  ): Promise<{ code: number; out: string }>;
}

/**
 * A throw-away apt configuration: its own state, cache, sources list, empty trusted parts and
 * dpkg status, so real apt judges the repository with signature checks on, without root-level
 * side effects. Fresh per negative test, because a stale list turns a bad signature into a warning.
 */
export async function makeAptRoot(sourcesLine: string, arch = 'amd64'): Promise<AptRoot> {
  await mkdir(scratchRoot, { recursive: true });
  const dir = await mkdtemp(join(scratchRoot, 'apt-'));
  for (const d of [
    'state/lists/partial',
    'cache/archives/partial',
    'trusted.d',
    'parts',
    'prefs.d',
    'conf.d',
    'log',
    'dl',
  ])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'status'), '');
  await writeFile(join(dir, 'sources.list'), `${sourcesLine}\n`);
  const opts = [
    `Dir::State=${dir}/state`,
    `Dir::State::status=${dir}/status`,
    `Dir::Cache=${dir}/cache`,
    `Dir::Etc::sourcelist=${dir}/sources.list`,
    `Dir::Etc::sourceparts=${dir}/parts`,
    `Dir::Etc::trustedparts=${dir}/trusted.d`,
    `Dir::Etc::trusted=${dir}/trusted.d/none.gpg`,
    `Dir::Etc::preferencesparts=${dir}/prefs.d`,
    `Dir::Etc::parts=${dir}/conf.d`,
    `Dir::Log=${dir}/log`,
    `APT::Architectures=${arch}`,
    `APT::Architecture=${arch}`,
    'APT::Sandbox::User=root',
    'Debug::NoLocking=1',
    'Acquire::Languages=none',
    'Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false',
  ].flatMap((o) => ['-o', o]);
  return {
    dir,
    async apt(tool, args, extra = []) {
      try {
        const argv = [...opts, ...extra.flatMap((o) => ['-o', o]), ...args];
        // apt-key's temp gpg home would leave a /run/user/UID/gnupg/d.* folder per run (agents.ts).
        const { stdout, stderr } = await run(...privateRunUser(tool, argv), {
          cwd: join(dir, 'dl'),
          maxBuffer: 64 * 1024 * 1024,
          env: { ...process.env, LC_ALL: 'C' },
        });
        return { code: 0, out: stdout + stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : 1, out: (e.stdout ?? '') + (e.stderr ?? '') };
      }
    },
  };
}

/** Lines apt prints for warnings and errors ("W: ...", "E: ..."). */
export function aptProblems(out: string): string[] {
  return out.split('\n').filter((l) => /^(W|E|Err):?/.test(l) || l.startsWith('Err:'));
}

/** Versions of `name` apt knows from the repository (apt-cache show NAME=VER exits 0 even for a missing version). */
export async function aptVersions(root: AptRoot, name: string): Promise<string[]> {
  const res = await root.apt('apt-cache', ['madison', name]);
  return res.out
    .split('\n')
    .map((l) => l.split('|').map((s) => s.trim()))
    .filter((p) => p.length >= 3 && p[0] === name)
    .map((p) => p[1]!);
}

/** A private apt root for `URL/packages/deb stable main`, trusting `keyFile`, after `apt-get update`. */
export async function aptUpdatedFrom(url: string, keyFile: string) {
  const apt = await makeAptRoot(`deb [signed-by=${keyFile}] ${url}/packages/deb stable main`);
  const up = await apt.apt('apt-get', ['update']);
  return { apt, up, problems: aptProblems(up.out) };
}
