#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { installUrls } from './install-urls.js';
import { jobSummary } from './job-summary.js';
import { appendRunnerFile, formatOutputs } from './runner-files.js';

/**
 * The GitHub Action's last step: reads what `pkgpub <command> --json` printed, appends the job
 * summary to $GITHUB_STEP_SUMMARY and the outputs to $GITHUB_OUTPUT. Outside a runner (neither
 * set) it prints the markdown, so the summary can be looked at locally.
 * Usage: node write-job-summary.js --result FILE [--command C] [--config F] [--channel C] [--base-url U] [--unsigned]
 */
async function run(argv: string[]): Promise<void> {
  const values = readFlags(argv);
  if (!values.result) throw new Error('--result FILE is required');
  const result: unknown = JSON.parse(await readFile(values.result, 'utf8'));
  // promote and rollback name the channel they changed; the summary's URLs are that channel's.
  const named = (result as { to?: unknown; channel?: unknown } | null) ?? {};
  const channel =
    values.channel ||
    (values.command === 'promote' && typeof named.to === 'string' ? named.to : undefined) ||
    (typeof named.channel === 'string' ? named.channel : undefined) ||
    'stable';
  const file = await loadConfigFile(values.config || 'pkgpub.yaml', Boolean(values.config));
  const cfg = resolveConfig(file, {
    channel,
    ...(values['base-url'] ? { baseUrl: values['base-url'] } : {}),
  });
  const summary = jobSummary(values.command, result, await installUrls(cfg, !values.unsigned));
  const summaryFile = process.env.GITHUB_STEP_SUMMARY;
  const outputFile = process.env.GITHUB_OUTPUT;
  if (summaryFile) await appendRunnerFile(summaryFile, summary.markdown);
  else process.stdout.write(summary.markdown);
  if (outputFile) await appendRunnerFile(outputFile, formatOutputs(summary.outputs));
  const o = summary.outputs;
  process.stdout.write(
    `pkgpub ${values.command}: +${o.added} -${o.removed} (${o.unchanged} unchanged), ${o['objects-written']} objects written; apt: ${o['apt-source']}; yum: ${o['yum-repo-url']}\n`,
  );
}

interface Flags {
  result?: string;
  command: string;
  config?: string;
  channel?: string;
  'base-url'?: string;
  unsigned: boolean;
}

/**
 * This script's few flags. Not node:util parseArgs: every parseArgs in src/ takes a pkgpub
 * command's options from the command table, and this is the action's helper, not a command.
 */
const VALUE_FLAGS = {
  '--result': 'result',
  '--command': 'command',
  '--config': 'config',
  '--channel': 'channel',
  '--base-url': 'base-url',
} as const;

function readFlags(argv: string[]): Flags {
  const flags: Flags = { command: 'publish', unsigned: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--unsigned') {
      flags.unsigned = true;
      continue;
    }
    const key = Object.hasOwn(VALUE_FLAGS, arg) ? VALUE_FLAGS[arg as keyof typeof VALUE_FLAGS] : undefined;
    const value = argv[++i];
    if (!key || value === undefined) throw new Error(`unexpected argument ${arg}`);
    flags[key] = value;
  }
  return flags;
}

run(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`job summary: ${(err as Error).message ?? String(err)}\n`);
  process.exitCode = 1;
});
