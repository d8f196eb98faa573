import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scratchRoot } from './paths.js';

/**
 * gpg, gpgv and sqv as judges, each run in a private home under scratchRoot so nothing touches
 * root's ~/.gnupg and agents from one test never serve another.
 */
export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runTool(cmd: string, args: string[], input?: string | Uint8Array): ToolResult {
  const r = spawnSync(cmd, args, { input: input ?? '', timeout: 120_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

export interface GpgHome {
  dir: string;
  /** gpg --homedir DIR --batch --no-tty ARGS. */
  gpg(args: string[], input?: string | Uint8Array): ToolResult;
  /** Like gpg() but throws with gpg's stderr when the exit status is not 0. */
  gpgOk(args: string[], input?: string | Uint8Array): string;
  /** Writes `content` to a file in the home and returns its path. */
  file(name: string, content: string | Uint8Array): string;
  /** Stops this home's agents (by its homedir), removes their socket folder, and removes the home. */
  cleanup(): void;
}

export function makeGpgHome(): GpgHome {
  mkdirSync(scratchRoot, { recursive: true });
  const dir = mkdtempSync(join(scratchRoot, 'gpg-'));
  chmodSync(dir, 0o700);
  const gpg = (args: string[], input?: string | Uint8Array): ToolResult =>
    runTool('gpg', ['--homedir', dir, '--batch', '--no-tty', ...args], input);
  return {
    dir,
    gpg,
    gpgOk(args, input) {
      const r = gpg(args, input);
      if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
      return r.stdout;
    },
    file(name, content) {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    },
    cleanup() {
      runTool('gpgconf', ['--homedir', dir, '--kill', 'all']);
      runTool('gpgconf', ['--homedir', dir, '--remove-socketdir']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A binary keyring file holding `publicArmored`, made the way apt's .gpg keyrings are (gpg --dearmor). */
export function keyringFor(home: GpgHome, publicArmored: string, name = 'keyring.gpg'): string {
  const out = join(home.dir, name);
  home.gpgOk(['--yes', '--output', out, '--dearmor'], publicArmored);
  return out;
}

/** gpgv with only `keyring` trusted; `data` absent for a clearsigned file. */
export function gpgv(home: GpgHome, keyring: string, sigFile: string, dataFile?: string): ToolResult {
  return runTool('gpgv', [
    '--homedir',
    home.dir,
    '--keyring',
    keyring,
    sigFile,
    ...(dataFile ? [dataFile] : []),
  ]);
}

export function sqv(keyring: string, sigFile: string, dataFile: string): ToolResult {
  return runTool('sqv', ['--keyring', keyring, sigFile, dataFile]);
}

export interface SigPacketInfo {
  version: number;
  digestAlgo: number;
  keyId: string;
  sigClass: string;
}

/** The signature packets of a file as gpg --list-packets reports them. */
export function signaturePackets(home: GpgHome, file: string): SigPacketInfo[] {
  const out = home.gpgOk(['--list-packets', file]);
  const sigs: SigPacketInfo[] = [];
  for (const block of out.split(/^(?=[#:])/m)) {
    const head = /^:signature packet: algo \d+, keyid ([0-9A-F]+)/m.exec(block);
    if (!head) continue;
    const v = /version (\d+), created \d+, md5len \d+, sigclass (0x[0-9a-f]+)/.exec(block);
    const d = /digest algo (\d+)/.exec(block);
    if (!v || !d) throw new Error(`unexpected --list-packets output:\n${block}`);
    sigs.push({ version: Number(v[1]), sigClass: v[2]!, digestAlgo: Number(d[1]), keyId: head[1]! });
  }
  return sigs;
}

/** Fingerprints of the keys in the home's keyring (primary first, then subkeys), with their capabilities. */
export function listKeys(home: GpgHome, secret = false): { fpr: string; kind: string; caps: string }[] {
  const out = home.gpgOk([
    '--with-colons',
    '--with-subkey-fingerprints',
    secret ? '--list-secret-keys' : '--list-keys',
  ]);
  const keys: { fpr: string; kind: string; caps: string }[] = [];
  let pending: { kind: string; caps: string } | null = null;
  for (const line of out.split('\n')) {
    const f = line.split(':');
    if (['pub', 'sub', 'sec', 'ssb'].includes(f[0]!)) pending = { kind: f[0]!, caps: f[11] ?? '' };
    if (f[0] === 'fpr' && pending) {
      keys.push({ ...pending, fpr: f[9]! });
      pending = null;
    }
  }
  return keys;
}

/**
 * Runs gpgv on each `<file>.asc` (paths relative to `root`, beside the file they sign) against an
 * armored public key; returns those gpgv did not accept, each with what it said.
 */
export async function badSignatures(
  home: string,
  publicKeyFile: string,
  root: string,
  ascs: string[],
): Promise<string[]> {
  const run = promisify(execFile);
  const ring = join(home, `ring-${ascs.length}-${Date.now()}.gpg`);
  await run('gpg', ['--batch', '--yes', '--homedir', home, '--dearmor', '-o', ring, publicKeyFile]);
  const bad: string[] = [];
  for (const f of ascs) {
    const r = await run('gpgv', [
      '--homedir',
      home,
      '--keyring',
      ring,
      join(root, f),
      join(root, f.slice(0, -4)),
    ])
      .then((x) => x.stderr)
      .catch((e: { stderr?: string }) => `failed: ${e.stderr ?? ''}`);
    if (!/Good signature/.test(r)) bad.push(`${f}: ${r.trim()}`);
  }
  return bad;
}
