import { COMMANDS, type CommandName, type CommandSpec, GLOBAL_FLAGS, NOTES } from './commands.js';
import type { Flag } from './flags.js';
import { commandEntries, flagLabel, notesFor, synopsis, TAGLINE } from './render-help.js';

/** GitHub's heading anchors: lower case, punctuation but hyphens dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

/** A table cell: pipes would end it, newlines would end the row. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  return `\`${cell(text)}\``;
}

/** Notes laid out in lines of their own keep their layout; prose is a paragraph. */
function notesBlock(text: string): string {
  return text.includes('\n') ? `\`\`\`text\n${text}\n\`\`\`` : text;
}

function flagRow(name: string, f: Flag): string {
  const notes = [...(f.required ? ['required'] : []), ...(f.multiple ? ['repeatable'] : [])];
  const help = notes.length > 0 ? `${f.help} (${notes.join('; ')})` : f.help;
  const fallback = typeof f.default === 'string' ? code(f.default) : '';
  return `| ${code(flagLabel(name, f))} | ${fallback} | ${cell(help)} |`;
}

function commandSection(name: CommandName): string {
  const spec: CommandSpec = COMMANDS[name];
  const parts = [`## pkgpub ${name}`, spec.summary, `\`\`\`text\n${synopsis(name)}\n\`\`\``];
  if (spec.notes) parts.push(notesBlock(spec.notes));
  const flags = Object.entries(spec.flags);
  if (flags.length > 0)
    parts.push(
      ['| flag | default | |', '|---|---|---|', ...flags.map(([flag, f]) => flagRow(flag, f))].join('\n'),
    );
  const see = notesFor(name).map((n) => `[${n.title}](#${anchor(n.title)})`);
  if (see.length > 0) parts.push(`See also: ${see.join(', ')}.`);
  return parts.join('\n\n');
}

/**
 * docs/cli.md: every command and flag of the command table, the notes `pkgpub help` prints.
 * `npm run docs:cli` writes it; a test fails when the committed file differs.
 */
export function renderCliDocs(): string {
  const index = commandEntries().map(
    ([name, spec]) =>
      `| [${code(`pkgpub ${name}${spec.args ? ` ${spec.args}` : ''}`)}](#${anchor(`pkgpub ${name}`)}) | ${cell(spec.summary)} |`,
  );
  const globals = Object.entries(GLOBAL_FLAGS).map(
    ([name, f]) => `| ${code(`-${f.short}`)}, ${code(`--${name}`)} | ${cell(f.help)} |`,
  );
  const sections = [
    '# pkgpub command line',
    '<!-- Generated from src/commands/table/ by `npm run docs:cli`: edit the table, not this file. -->',
    `${TAGLINE}.`,
    'Usage: `pkgpub COMMAND [ARGS] [FLAGS]`; `pkgpub COMMAND --help` prints what this page says of COMMAND.',
    ['| command | |', '|---|---|', ...index].join('\n'),
    ['| flag | |', '|---|---|', ...globals].join('\n'),
    ...commandEntries().map(([name]) => commandSection(name)),
    '## Notes',
    ...NOTES.map((n) => `### ${n.title}\n\n${n.text}`),
  ];
  return `${sections.join('\n\n')}\n`;
}
