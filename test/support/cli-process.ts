import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { repoRoot } from './paths.js';

/** The built CLI (`npm run build` first), run the way a user runs it. */
export const cliJs = join(repoRoot, 'dist', 'src', 'cli.js');

export interface CliResult {
  /** Exit status; null when the process died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  /** performance.now() at spawn and at exit. */
  startedAt: number;
  endedAt: number;
  ms: number;
  /** The hard timeout fired and the process was killed with SIGKILL. */
  timedOut: boolean;
}

export interface CliProcess {
  readonly pid: number;
  readonly startedAt: number;
  /** Everything on stderr so far. */
  err(): string;
  running(): boolean;
  kill(signal?: NodeJS.Signals): void;
  readonly done: Promise<CliResult>;
}

const live = new Set<ChildProcess>();

/**
 * Starts `node dist/src/cli.js ARGS` as its own process (stderr is a pipe, not a TTY, so progress
 * comes as one plain line per step). With `timeoutMs` the process is killed with SIGKILL when it
 * runs longer, so a test fails with what it said instead of hanging. Every process started here is
 * tracked until it exits: killStrayProcesses() ends the ones a failing test left behind.
 */
export function startCli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): CliProcess {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [cliJs, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  let err = '';
  let timedOut = false;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', (e) => {
      live.delete(child);
      if (timer) clearTimeout(timer);
      reject(e);
    });
    // 'close': the exit status and every byte of both pipes.
    child.once('close', (code, signal) => {
      live.delete(child);
      if (timer) clearTimeout(timer);
      const endedAt = performance.now();
      resolve({ code, signal, out, err, startedAt, endedAt, ms: endedAt - startedAt, timedOut });
    });
  });
  return {
    pid: child.pid!,
    startedAt,
    err: () => err,
    running: () => child.exitCode === null && child.signalCode === null,
    kill: (signal = 'SIGKILL') => {
      child.kill(signal);
    },
    done,
  };
}

/** Runs the CLI to its end (see startCli). */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Kills (by pid, SIGKILL) every CLI process started by startCli that is still running, and waits for them. */
export async function killStrayProcesses(): Promise<number> {
  const stray = [...live].filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(
    stray.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('close', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
  return stray.length;
}

/** Polls `check` every `everyMs` until it returns a value other than undefined, or `timeoutMs` passes. */
export async function pollUntil<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 5,
): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Seconds with two decimals, for the figures the tests print. */
export const secs = (ms: number) => (ms / 1000).toFixed(2);
