import type { Reporter } from './commands/reporter.js';
import { type CommandName, GLOBAL_FLAGS, isCommandName } from './commands/table/commands.js';
import { commandHelp, groupHelp, groupMembers, overview } from './commands/table/render-help.js';
import { exitCodeFor, PkgpubError, UsageError } from './errors.js';
import { pkgpubVersion } from './version.js';

/** A command's exit status when it finished but found a problem (verify: 1 with errors); else 0. */
type Command = (args: string[], r: Reporter) => Promise<unknown>;

// Each command is loaded when it runs: a CLI start loads only what that command needs (openpgp,
// the AWS SDK, ejs, the readers), so `pkgpub --version`, `help` and `serve` start in a fraction.
const commands: Record<string, Command> = {
  inspect: async (args, r) => (await import('./commands/inspect.js')).runInspect(args, r),
  publish: async (args, r) => (await import('./commands/publish.js')).runPublish(args, r, 'publish'),
  remove: async (args, r) => (await import('./commands/publish.js')).runPublish(args, r, 'remove'),
  prune: async (args, r) => (await import('./commands/prune.js')).runPrune(args, r),
  promote: async (args, r) => (await import('./commands/promote.js')).runPromote(args, r),
  rollback: async (args, r) => (await import('./commands/rollback.js')).runRollback(args, r),
  history: async (args, r) => (await import('./commands/history.js')).runHistory(args, r),
  keys: async (args, r) => (await import('./commands/keys.js')).runKeys(args, r),
  init: async (args, r) => (await import('./commands/init.js')).runInit(args, r),
  drivers: async (args, r) => (await import('./commands/drivers.js')).runDrivers(args, r),
  site: async (args, r) => (await import('./commands/site.js')).runSite(args, r),
  adopt: async (args, r) => (await import('./commands/adopt.js')).runAdopt(args, r),
  serve: async (args, r) => (await import('./commands/serve.js')).runServe(args, r),
  verify: async (args, r) => (await import('./commands/verify.js')).runVerify(args, r),
  async help(args, r) {
    if (args.length === 0) {
      r.out(overview());
      return;
    }
    const text = helpFor(args);
    if (text === undefined) throw new UsageError(`help: no command "${args.join(' ')}" (see pkgpub help)`);
    r.out(text);
  },
};

/** The top-level commands main runs; each has its row(s) in the command table. */
export const COMMAND_NAMES: readonly string[] = Object.keys(commands);

/** `--version` or `-V` → 'version'; undefined for anything else. */
function globalFlag(arg: string): keyof typeof GLOBAL_FLAGS | undefined {
  for (const [flag, f] of Object.entries(GLOBAL_FLAGS))
    if (arg === `--${flag}` || arg === `-${f.short}`) return flag as keyof typeof GLOBAL_FLAGS;
  return undefined;
}

/** The longest command the leading words name (`keys rotate add --x` → keys rotate add). */
function commandNamed(words: string[]): CommandName | undefined {
  const firstFlag = words.findIndex((w) => w.startsWith('-'));
  const leading = firstFlag < 0 ? words : words.slice(0, firstFlag);
  for (let n = leading.length; n > 0; n--) {
    const name = leading.slice(0, n).join(' ');
    if (isCommandName(name)) return name;
  }
  return undefined;
}

/**
 * The help of the longest command the leading words name (`keys rotate add` → keys rotate), or
 * of a group (`drivers` → its subcommands); undefined when they name none.
 */
function helpFor(words: string[]): string | undefined {
  const name = commandNamed(words);
  if (name) return commandHelp(name);
  const group = words[0]?.startsWith('-') ? undefined : words[0];
  return group && groupMembers(group).length > 0 ? groupHelp(group) : undefined;
}

/** Runs one pkgpub command line; returns the exit status. Never prints except through `r`. */
export async function main(argv: string[], r: Reporter): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    r.out(overview());
    return 2;
  }
  switch (globalFlag(name)) {
    case 'help':
      r.out(overview());
      return 0;
    case 'version':
      r.out(await pkgpubVersion());
      return 0;
  }
  const cmd = Object.hasOwn(commands, name) ? commands[name] : undefined;
  const ownArgs = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (cmd && (ownArgs.includes('--help') || ownArgs.includes('-h'))) {
    r.out(helpFor(argv) ?? overview());
    return 0;
  }
  try {
    if (!cmd) throw new UsageError(`unknown command "${name}" (see pkgpub help)`);
    const status = await cmd(rest, r);
    return typeof status === 'number' ? status : 0;
  } catch (err) {
    const usage = parseArgsError(err, argv);
    reportError(usage ?? err, r);
    return exitCodeFor(usage ?? err);
  }
}

/**
 * parseArgs' own errors (an unknown flag, a flag missing its value, a stray argument) are the
 * user's to fix: usage errors, exit 2, pointing at the command's help.
 */
function parseArgsError(err: unknown, argv: string[]): UsageError | undefined {
  const code = (err as { code?: string } | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) return undefined;
  const command = commandNamed(argv) ?? argv[0];
  // Node's text goes on to explain `--`, which only confuses a mistyped flag.
  const first = (err as Error).message.split('. To specify')[0]!.replace(/\.$/, '');
  return new UsageError(`${first} (see pkgpub ${command} --help)`);
}

function reportError(err: unknown, r: Reporter): void {
  if (err instanceof PkgpubError) {
    r.info(`error: ${err.message}`);
    if (process.env.PKGPUB_DEBUG && err.cause) r.info(String((err.cause as Error).stack ?? err.cause));
    return;
  }
  r.info(`error: internal: ${(err as Error)?.message ?? String(err)}`);
  if (process.env.PKGPUB_DEBUG) r.info(String((err as Error)?.stack));
}
