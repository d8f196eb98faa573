import { COMMANDS, type CommandName, type CommandSpec, GLOBAL_FLAGS, NOTES, type Note } from './commands.js';
import type { Flag } from './flags.js';

export const TAGLINE =
  'pkgpub — publish packages as signed apt/yum repositories, driver indexes and a browsable site';

const WIDTH = 100;

export function commandEntries(): [CommandName, CommandSpec][] {
  return Object.entries(COMMANDS) as [CommandName, CommandSpec][];
}

/** `--to DIR|s3://BUCKET/PREFIX`, as a synopsis and the flag lists name a flag. */
export function flagLabel(name: string, flag: Flag): string {
  return flag.type === 'string' ? `--${name} ${flag.value ?? 'VALUE'}` : `--${name}`;
}

function synopsisWords(name: CommandName): string[] {
  const spec: CommandSpec = COMMANDS[name];
  const words = [`pkgpub ${name}${spec.args ? ` ${spec.args}` : ''}`];
  for (const [flag, f] of Object.entries(spec.flags)) {
    const label = flagLabel(flag, f);
    words.push(`${f.required ? label : `[${label}]`}${f.multiple ? '...' : ''}`);
  }
  return words;
}

/** Words joined into lines of at most `width`, continuation lines indented by `indent`. */
function wrap(words: string[], width: number, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = ' '.repeat(indent) + w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** One-line prose wrapped to the help width; text laid out in lines of its own stays as it is. */
function paragraph(text: string): string {
  return text.includes('\n') ? text : wrap(text.split(' '), WIDTH, 0).join('\n');
}

/** A command with every flag it takes, wrapped to the terminal width help uses. */
export function synopsis(name: CommandName, width = WIDTH): string {
  return wrap(synopsisWords(name), width, `pkgpub ${name} `.length).join('\n');
}

/** What a usage error of a command adds to its message. */
export function usage(name: CommandName): string {
  return `usage: ${synopsis(name, WIDTH - 'usage: '.length).replace(/\n/g, '\n       ')}`;
}

/** The commands under a group word (`drivers`, `keys`, `site`). */
export function groupMembers(group: string): CommandName[] {
  return commandEntries()
    .map(([name]) => name)
    .filter((name) => name.startsWith(`${group} `));
}

/** For `pkgpub drivers` without a known subcommand: each subcommand's usage. */
export function groupUsage(group: string): string {
  return groupMembers(group)
    .map((name, i) => (i === 0 ? usage(name) : usage(name).replace(/^usage:/, '      ')))
    .join('\n');
}

export function notesFor(name: CommandName): Note[] {
  const spec: CommandSpec = COMMANDS[name];
  return NOTES.filter((n) => n.commands(name, spec));
}

function flagLines(flags: [string, Flag][]): string[] {
  const labels = flags.map(([name, f]) => flagLabel(name, f));
  const column = Math.min(34, Math.max(0, ...labels.map((l) => l.length)) + 2);
  return flags.map(([, f], i) => {
    const label = labels[i]!;
    // A label wider than the column gets a line of its own, its help below it.
    return label.length + 2 > column
      ? `  ${label}\n${hanging('', flagHelp(f), column + 2)}`
      : hanging(`  ${label}`, flagHelp(f), column + 2);
  });
}

/** `head` padded to `column`, then `text` wrapped to the help width with every line starting there. */
function hanging(head: string, text: string, column: number): string {
  const lines = wrap(text.split(' '), Math.max(40, WIDTH - column), 0);
  return lines.map((l, i) => `${(i === 0 ? head : '').padEnd(column)}${l}`).join('\n');
}

/** A flag's help with what the table says beside it: its default, whether it repeats. */
export function flagHelp(f: Flag): string {
  const extra = [
    ...(f.required ? ['required'] : []),
    ...(typeof f.default === 'string' ? [`default ${f.default}`] : []),
    ...(f.multiple ? ['repeatable'] : []),
  ];
  return extra.length > 0 ? `${f.help} (${extra.join('; ')})` : f.help;
}

/** `pkgpub COMMAND --help`. */
export function commandHelp(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const flags = Object.entries(spec.flags);
  const parts = [usage(name), spec.summary];
  if (spec.notes) parts.push(paragraph(spec.notes));
  if (flags.length > 0) parts.push(['Flags:', ...flagLines(flags)].join('\n'));
  for (const n of notesFor(name)) parts.push(paragraph(`${n.title}: ${n.text}`));
  return parts.join('\n\n');
}

/** `pkgpub drivers --help`: the group's commands, each with its flags. */
export function groupHelp(group: string): string {
  return groupMembers(group)
    .map((name) => commandHelp(name))
    .join('\n\n');
}

/** `pkgpub help`: every command in a line, the global flags, then the notes. */
export function overview(): string {
  const rows = commandEntries().map(([name, spec]) => ({
    label: `pkgpub ${name}${spec.args ? ` ${spec.args}` : ''}`,
    summary: spec.summary,
  }));
  const column = Math.max(...rows.map((r) => r.label.length)) + 4;
  const commands = rows.map((r) => hanging(`  ${r.label}`, r.summary, column));
  const globals = Object.entries(GLOBAL_FLAGS).map(([name, f]) =>
    hanging(`  -${f.short}, --${name}`, f.help, column),
  );
  const notes = NOTES.map((n) => paragraph(`${n.title}: ${n.text}`));
  return [
    TAGLINE,
    'Usage: pkgpub COMMAND [ARGS] [FLAGS]    (pkgpub COMMAND --help: its flags)',
    ['Commands:', ...commands].join('\n'),
    ['Flags:', ...globals].join('\n'),
    ...notes,
  ].join('\n\n');
}
