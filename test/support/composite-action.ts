import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { delimiter as pathDelimiter, join } from 'node:path';
import { parse } from 'yaml';

/**
 * Runs a composite action's `run:` steps with bash the way the runner does, for tests: inputs
 * reach the action only through `${{ }}` expressions (the runner sets no INPUT_* variables for
 * composite actions), so the few expression forms an action may use are evaluated here:
 * inputs.NAME, github.action_path, env.NAME, steps.ID.outputs.NAME, 'literal', and `a || b`.
 * Anything else throws, so an action that starts using more fails its test instead of running
 * with a blank. `uses:` steps (actions/setup-node) are skipped: they need the runner.
 */

export interface ActionStep {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}

export interface ActionFile {
  inputs: Record<string, { description?: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description?: string; value: string }>;
  runs: { using: string; steps: ActionStep[] };
}

export interface StepRun {
  name: string;
  skipped: boolean;
  status: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

export interface ActionRun {
  steps: StepRun[];
  /** The action's `outputs:` evaluated after its steps. */
  outputs: Record<string, string>;
  /** Every step's $GITHUB_STEP_SUMMARY, joined as the runner shows them. */
  summary: string;
  /** Raw $GITHUB_OUTPUT text of every step, for checks on what was written. */
  outputFiles: string[];
  /** $GITHUB_ENV text, for the same. */
  envFile: string;
  ok: boolean;
}

export async function readAction(path: string): Promise<ActionFile> {
  const doc = parse(await readFile(path, 'utf8')) as ActionFile;
  if (doc.runs?.using !== 'composite') throw new Error(`${path}: not a composite action`);
  return { inputs: doc.inputs ?? {}, outputs: doc.outputs ?? {}, runs: doc.runs };
}

interface Context {
  inputs: Record<string, string>;
  actionPath: string;
  env: Record<string, string | undefined>;
  steps: Record<string, Record<string, string>>;
}

/** Replaces every `${{ expr }}` in `text`. */
export function substitute(text: string, ctx: Context): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_, expr: string) => evaluate(expr, ctx));
}

function evaluate(expr: string, ctx: Context): string {
  // Like the runner's ||: the first operand that is not empty.
  for (const operand of expr.split('||')) {
    const v = operandValue(operand.trim(), ctx);
    if (v !== '') return v;
  }
  return '';
}

function operandValue(op: string, ctx: Context): string {
  const input = /^inputs\.([A-Za-z0-9_-]+)$/.exec(op);
  if (input) {
    const name = input[1]!;
    if (!(name in ctx.inputs)) throw new Error(`expression names an undeclared input: ${op}`);
    return ctx.inputs[name]!;
  }
  if (op === 'github.action_path') return ctx.actionPath;
  const env = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(op);
  if (env) return ctx.env[env[1]!] ?? '';
  const output = /^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(op);
  if (output) return ctx.steps[output[1]!]?.[output[2]!] ?? '';
  const literal = /^'((?:[^']|'')*)'$/.exec(op);
  if (literal) return literal[1]!.replaceAll("''", "'");
  throw new Error(`expression form this harness does not evaluate: ${op}`);
}

/**
 * Parses a runner file ($GITHUB_OUTPUT, $GITHUB_ENV) as the runner does: `name=value` lines and
 * `name<<DELIMITER` blocks ending at a line that is exactly the delimiter. Throws on anything else.
 */
export function parseRunnerFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = line.indexOf('<<');
    const eq = line.indexOf('=');
    if (heredoc > 0 && (eq < 0 || heredoc < eq)) {
      const name = line.slice(0, heredoc);
      const delim = line.slice(heredoc + 2);
      if (delim === '') throw new Error(`line ${i + 1}: empty delimiter`);
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) body.push(lines[i]!);
      if (i >= lines.length) throw new Error(`output ${name}: delimiter ${delim} never closes`);
      out[name] = body.join('\n');
    } else if (eq > 0) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
    } else {
      throw new Error(`line ${i + 1}: neither name=value nor name<<DELIMITER: ${line}`);
    }
  }
  return out;
}

export interface RunActionOptions {
  actionPath: string;
  /** `with:` of the calling workflow step. */
  with: Record<string, string>;
  workspace: string;
  /** A folder for RUNNER_TEMP and the runner files. */
  runnerTemp: string;
  /** The job's environment (PATH included). */
  env: Record<string, string>;
  /** Only the steps with these names run (the others count as skipped). */
  only?: string[];
}

export async function runAction(action: ActionFile, opts: RunActionOptions): Promise<ActionRun> {
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs)) inputs[name] = spec.default ?? '';
  for (const [name, v] of Object.entries(opts.with)) {
    if (!(name in action.inputs)) throw new Error(`the action has no input "${name}"`);
    inputs[name] = v;
  }
  const files = await mkdtemp(join(opts.runnerTemp, '_runner_file_commands-'));
  const envFile = join(files, 'set_env');
  const pathFile = join(files, 'add_path');
  await writeFile(envFile, '');
  await writeFile(pathFile, '');
  const addedEnv: Record<string, string> = {};
  const addedPath: string[] = [];
  const ctx: Context = { inputs, actionPath: opts.actionPath, env: opts.env, steps: {} };
  const runs: StepRun[] = [];
  const outputFiles: string[] = [];
  let ok = true;
  for (const [n, step] of action.runs.steps.entries()) {
    const name = step.name ?? step.id ?? `step ${n}`;
    const skip = (): StepRun => ({
      name,
      skipped: true,
      status: null,
      stdout: '',
      stderr: '',
      outputs: {},
      summary: '',
    });
    if (!ok || step.uses || (opts.only && !opts.only.includes(name))) {
      runs.push(skip());
      continue;
    }
    if (step.if) throw new Error(`step "${name}": run steps with if: are not evaluated by this harness`);
    if (step.shell !== 'bash' || !step.run) throw new Error(`step "${name}": only shell: bash run steps`);
    const stepDir = await mkdtemp(join(files, 'step-'));
    const output = join(stepDir, 'set_output');
    const summary = join(stepDir, 'step_summary');
    const script = join(stepDir, 'script.sh');
    await Promise.all([
      writeFile(output, ''),
      writeFile(summary, ''),
      writeFile(script, substitute(step.run, ctx)),
    ]);
    const jobEnv = { ...opts.env, ...addedEnv };
    const stepEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env ?? {}))
      stepEnv[k] = substitute(String(v), { ...ctx, env: jobEnv });
    const path = [...addedPath.slice().reverse(), jobEnv.PATH ?? ''].join(pathDelimiter);
    const env = {
      ...jobEnv,
      ...stepEnv,
      PATH: path,
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION_PATH: opts.actionPath,
      GITHUB_WORKSPACE: opts.workspace,
      RUNNER_TEMP: opts.runnerTemp,
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_ENV: envFile,
      GITHUB_PATH: pathFile,
    };
    // The runner's own command line for `shell: bash`.
    const r = await run('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], opts.workspace, env);
    const outputText = await readFile(output, 'utf8');
    outputFiles.push(outputText);
    const outputs = parseRunnerFile(outputText);
    if (step.id) ctx.steps[step.id] = outputs;
    Object.assign(addedEnv, parseRunnerFile(await readFile(envFile, 'utf8')));
    addedPath.splice(0, addedPath.length, ...(await readFile(pathFile, 'utf8')).split('\n').filter(Boolean));
    runs.push({ name, skipped: false, ...r, outputs, summary: await readFile(summary, 'utf8') });
    if (r.status !== 0) ok = false;
  }
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.outputs)) outputs[name] = substitute(spec.value, ctx);
  return {
    steps: runs,
    outputs,
    summary: runs.map((s) => s.summary).join(''),
    outputFiles,
    envFile: await readFile(envFile, 'utf8'),
    ok,
  };
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string | undefined>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/**
 * A folder holding a `pkgpub` that runs `cliJs` with this node, what `npm install --global`
 * would put on PATH; returns the folder.
 */
export async function cliOnPath(dir: string, cliJs: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'pkgpub'), `#!/bin/sh\nexec "${process.execPath}" "${cliJs}" "$@"\n`, {
    mode: 0o755,
  });
  return dir;
}
