import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * gpg-agent daemons the tests' tools start outside test/support/gpg.ts: librepo (dnf with
 * repo_gpgcheck=1) starts one per repository keyring, `<cachedir>/<repo>-<hash>/pubring`, inside
 * each dnf root, and leaves it running after dnf exits.
 */
export interface AgentProcess {
  pid: number;
  homedir: string;
}

/** Running (not zombie) gpg-agent processes whose --homedir lies under `root`. */
export function agentsUnder(root: string): AgentProcess[] {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const found: AgentProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    let state: string;
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      // "pid (comm) S ...": the state letter follows the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      continue; // gone meanwhile
    }
    if (state === 'Z' || !argv[0]?.endsWith('gpg-agent')) continue;
    const i = argv.indexOf('--homedir');
    const homedir = i >= 0 ? argv[i + 1] : undefined;
    if (homedir && (homedir === root || homedir.startsWith(prefix)))
      found.push({ pid: Number(name), homedir });
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const quiet = () => undefined;

/** Removes a stopped home's socket folder (/run/user/UID/gnupg/d.*), if gpg made one there. */
async function removeSocketDir(homedir: string): Promise<void> {
  await run('gpgconf', ['--homedir', homedir, '--remove-socketdir'], { timeout: 30_000 }).catch(quiet);
}

/**
 * Stops every gpg-agent whose home lies under `root` (SIGTERM, SIGKILL after 5 s if one is still
 * there; by pid, because an agent dnf started in its own mount namespace has its socket where
 * gpgconf cannot reach it) and returns what it found, so callers can tell a leak from a clean run.
 */
export async function stopAgentsUnder(root: string): Promise<AgentProcess[]> {
  const agents = agentsUnder(root);
  if (agents.length === 0) return agents;
  const signal = (a: AgentProcess, sig: NodeJS.Signals) => {
    try {
      process.kill(a.pid, sig);
    } catch {
      // already gone
    }
  };
  for (const a of agents) signal(a, 'SIGTERM');
  const deadline = Date.now() + 5000;
  let left = agents.filter((a) => alive(a.pid));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    left = left.filter((a) => alive(a.pid));
  }
  for (const a of left) signal(a, 'SIGKILL');
  // Only once the agents are gone: a stopping agent still holds its sockets.
  for (const home of new Set(agents.map((a) => a.homedir))) await removeSocketDir(home);
  return agents;
}

/**
 * `[cmd, args]` to run a tool that uses gpg behind the scenes with its own empty /run/user. When
 * /run/user/UID exists, gpg puts the sockets of every non-default home in /run/user/UID/gnupg/d.*,
 * and those folders outlive the tool: apt-get update leaves one per run (apt-key's temp home),
 * dnf several (librepo even creates /run/user/UID, and its repo keyrings and dnf's temp
 * key-import homes follow). As root, the tool runs in its own mount namespace with a tmpfs on
 * /run/user, so they vanish with it; otherwise (no root, no /run/user) it runs as it is.
 */
export function privateRunUser(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0 || !existsSync('/run/user')) return [cmd, args];
  return [
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      'mount -t tmpfs -o mode=0755,size=1m pkgpub-test /run/user && exec "$0" "$@"',
      cmd,
      ...args,
    ],
  ];
}
