import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordingReporter } from '../../src/commands/reporter.js';
import { main } from '../../src/main.js';
import { repoRoot } from './paths.js';

const run = promisify(execFile);

/** Runs a pkgpub command line in-process; returns exit status and everything it said. */
export async function pkgpub(args: string[], env: Record<string, string | undefined> = {}) {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const r = recordingReporter();
  try {
    const code = await main(args, r);
    return {
      code,
      out: r.lines.join('\n'),
      err: [...r.infos, ...r.warnings.map((w) => `warning: ${w}`)].join('\n'),
    };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Runs the built CLI as a user would (`node dist/src/cli.js ...`); needs `npm run build` first. */
export async function pkgpubProcess(
  args: string[],
  env: Record<string, string> = {},
  /** Another pkgpub to run (an installed package's bin), from another folder. */
  opts: { bin?: string; cwd?: string } = {},
) {
  const [file, argv] = opts.bin
    ? [opts.bin, args]
    : [process.execPath, [join(repoRoot, 'dist', 'src', 'cli.js'), ...args]];
  try {
    const { stdout, stderr } = await run(file, argv, {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    return { code: 0, out: stdout, err: stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : 1,
      out: err.stdout ?? '',
      err: err.stderr ?? '',
    };
  }
}
