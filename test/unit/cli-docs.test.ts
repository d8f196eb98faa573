import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { recordingReporter } from '../../src/commands/reporter.js';
import { COMMANDS, type CommandName, GLOBAL_FLAGS, parseOptions } from '../../src/commands/table/commands.js';
import { renderCliDocs } from '../../src/commands/table/render-docs.js';
import { commandHelp, overview } from '../../src/commands/table/render-help.js';
import { COMMAND_NAMES, main } from '../../src/main.js';
import { pkgpubProcess } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

const names = Object.keys(COMMANDS) as CommandName[];
const wired = (name: CommandName) => COMMAND_NAMES.includes(name.split(' ')[0]!);

async function run(args: string[]) {
  const r = recordingReporter();
  const code = await main(args, r);
  return { code, out: r.lines.join('\n'), err: r.infos.join('\n') };
}

/** A line of the Flags list naming the flag itself (--force, not --force-path-style). */
const listed = (flag: string) => new RegExp(`^ {2}--${flag}( |$)`, 'm');

describe('docs/cli.md', () => {
  it('is what the command table renders', async () => {
    const committed = await readFile(join(repoRoot, 'docs', 'cli.md'), 'utf8');
    expect(committed, 'docs/cli.md is stale: run `npm run docs:cli` and commit it').toBe(renderCliDocs());
  });

  it('names every command and every flag', () => {
    const docs = renderCliDocs();
    for (const name of names) {
      expect(docs).toContain(`## pkgpub ${name}\n`);
      for (const flag of Object.keys(COMMANDS[name].flags))
        expect(docs, `${name} --${flag}`).toContain(`--${flag}`);
    }
  });
});

describe('--help', () => {
  it('pkgpub COMMAND --help lists every flag of the command', async () => {
    for (const name of names) {
      // A command whose module is not wired into main yet has its help from the table alone.
      const help = wired(name)
        ? await run([...name.split(' '), '--help'])
        : { code: 0, out: commandHelp(name) };
      expect(help.code, name).toBe(0);
      expect(help.out, name).toContain(`usage: pkgpub ${name}`);
      for (const flag of Object.keys(COMMANDS[name].flags))
        expect(help.out, `${name} --${flag}`).toMatch(listed(flag));
    }
  });

  it('the subcommand words before --help pick the command; a group lists its commands', async () => {
    expect((await run(['keys', 'rotate', 'add', '--help'])).out).toBe(commandHelp('keys rotate'));
    expect((await run(['publish', 'a.deb', '--help'])).out).toBe(commandHelp('publish'));
    expect((await run(['help', 'drivers', 'prune'])).out).toBe(commandHelp('drivers prune'));
    const drivers = await run(['drivers', '--help']);
    for (const sub of ['prune', 'rollback', 'history'])
      expect(drivers.out).toContain(`usage: pkgpub drivers ${sub}`);
    expect((await run(['help', 'nothing'])).code).toBe(2);
  });

  it('adopt --help keeps what adopt reads and what it costs', async () => {
    const help = await run(['adopt', '--help']);
    expect(help.out).toMatch(/--hash reads EVERY driver without one: a full download of the tree/);
  });

  it('pkgpub help, --help and -h print the overview; bare pkgpub too, with exit 2', async () => {
    for (const args of [['help'], ['--help'], ['-h']])
      expect(await run(args)).toMatchObject({ code: 0, out: overview() });
    expect(await run([])).toMatchObject({ code: 2, out: overview() });
    for (const name of names) expect(overview()).toContain(`pkgpub ${name}`);
    for (const flag of Object.keys(GLOBAL_FLAGS)) expect(overview()).toContain(`--${flag}`);
  });
});

describe('the parsers are the table', () => {
  it("every command's flags parse, with their defaults", () => {
    for (const name of names) {
      const options = parseOptions(name);
      const args = Object.entries(options).flatMap(([flag, f]) =>
        f.type === 'string' ? [`--${flag}`, 'x'] : [`--${flag}`],
      );
      const { values } = parseArgs({ args, options, allowPositionals: true, strict: true });
      expect(Object.keys(values).sort(), name).toEqual(Object.keys(options).sort());
    }
  });

  it('each command refuses a flag that is not in its row', async () => {
    const all = new Set(names.flatMap((n) => Object.keys(COMMANDS[n].flags)));
    for (const name of names) {
      const own = Object.keys(COMMANDS[name].flags);
      // --channel is refused by drivers rollback and history with a reason of their own (below).
      const foreign = [...all].find((f) => !own.includes(f) && f !== 'channel') ?? 'no-such-flag';
      for (const flag of [foreign, 'no-such-flag']) {
        expect(
          () =>
            parseArgs({
              args: [`--${flag}`],
              options: parseOptions(name),
              allowPositionals: true,
              strict: true,
            }),
          `${name} --${flag}`,
        ).toThrow(expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }));
        // And the command itself, which must parse with its row: it fails before touching anything.
        if (!wired(name) || name === 'help') continue;
        const args = [...name.split(' '), ...(name === 'keys rotate' ? ['add'] : []), `--${flag}`];
        const res = await run(args);
        // A usage error: exit 2, and the line points at the command's help.
        expect(res.code, args.join(' ')).toBe(2);
        expect(res.err, args.join(' ')).toContain(`Unknown option '--${flag}' (see pkgpub ${name} --help)`);
      }
    }
  });

  it('no parseArgs call in src/ takes options from anywhere but the table', async () => {
    const src = join(repoRoot, 'src');
    const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
    let calls = 0;
    for (const f of files) {
      const text = await readFile(join(src, f), 'utf8');
      for (const m of text.matchAll(/parseArgs\(\{[\s\S]*?\}\)/g)) {
        calls++;
        expect(m[0], f).toMatch(/options: parseOptions\('[a-z ]+'\)/);
      }
    }
    expect(calls).toBeGreaterThan(10);
  });

  it('drivers rollback and drivers history refuse --channel as bad usage (exit 2)', async () => {
    for (const sub of ['rollback', 'history']) {
      const res = await run(['drivers', sub, '--channel', 'dev']);
      expect(res.code).toBe(2);
      expect(res.err).toMatch(/takes no --channel: every channel shares the driver tree/);
    }
  });
});

describe('--version', () => {
  it('prints the version in package.json', async () => {
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
    expect(await run(['--version'])).toMatchObject({ code: 0, out: version });
    expect(await run(['-V'])).toMatchObject({ code: 0, out: version });
  });

  it.skipIf(!existsSync(join(repoRoot, 'dist', 'src', 'cli.js')))(
    'finds package.json from the built file too',
    async () => {
      const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
      const res = await pkgpubProcess(['--version']);
      expect(res).toMatchObject({ code: 0, out: `${version}\n` });
    },
  );
});
