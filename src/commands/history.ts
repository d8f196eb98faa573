import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { readHistory } from '../changes/rollback.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { DRIVERS_RECORD, type HistoryEntry, kindOf, recordLabel } from '../model/history.js';
import { refuseChannel } from './refuse-channel.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';

const KIND_NAMES: Record<string, string> = { apt: 'apt', yum: 'yum', bin: 'tarballs', drivers: 'drivers' };

function describeEntry(e: HistoryEntry): string {
  const kinds = Object.entries(e.summary).map(
    ([k, s]) =>
      `${KIND_NAMES[k] ?? k} +${s.addedCount ?? s.added.length} -${s.removedCount ?? s.removed.length}`,
  );
  const parts = [...new Set(Object.keys(e.snapshot).map(kindOf))].map((k) => KIND_NAMES[k] ?? k);
  const notes = [
    ...(e.restored !== undefined ? [`restored generation ${e.restored}`] : []),
    ...(e.corrected ? [`corrected: ${e.corrected.join(', ')} never committed`] : []),
  ];
  const changed =
    e.command === 'baseline' ? `state found when history began (${parts.join(', ')})` : kinds.join(', ');
  return `${changed || 'no change'}${notes.length ? ` [${notes.join('; ')}]` : ''}`;
}

/**
 * `pkgpub history --channel C`: the generations `pkgpub rollback` can go back to, newest first;
 * `pkgpub drivers history` (`drivers`): the driver tree's, for `pkgpub drivers rollback`.
 */
export async function runHistory(
  args: string[],
  r: Reporter,
  opts: { drivers?: boolean } = {},
): Promise<void> {
  const name = opts.drivers ? 'drivers history' : 'history';
  if (opts.drivers) refuseChannel(name, args);
  const { values, positionals, channel } = parseHistory(args, opts.drivers ?? false);
  if (positionals.length > 0) throw new UsageError(`${name} takes no arguments (got "${positionals[0]}")`);
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, { channel: channel ?? 'stable' });
  const record = opts.drivers ? DRIVERS_RECORD : cfg.channel;
  const who = recordLabel(record);
  const rollbackCmd = opts.drivers ? 'drivers rollback' : 'rollback';
  const store = await targetStore(values);
  const kept = await readHistory(store, cfg, record);
  const newestFirst = [...kept.entries].reverse();
  if (values.json) {
    r.out(
      JSON.stringify({
        channel: record,
        keeps: cfg.rollback.generations,
        generations: newestFirst.map((e, steps) => ({
          id: e.id,
          steps,
          date: e.date,
          command: e.command,
          summary: e.summary,
          parts: Object.keys(e.snapshot).sort(),
          heldBack: Object.values(e.dropped).reduce((n, l) => n + l.length, 0),
          ...(e.restored !== undefined ? { restored: e.restored } : {}),
          ...(e.corrected ? { corrected: e.corrected } : {}),
        })),
      }),
    );
    return;
  }
  if (newestFirst.length === 0) {
    r.out(`${who} in ${store.description} has no history yet`);
    return;
  }
  r.out(
    `${who} in ${store.description}: ${newestFirst.length} generation(s), newest first (${rollbackCmd} --steps N goes N back)`,
  );
  for (const [steps, e] of newestFirst.entries())
    r.out(
      `${steps === 0 ? 'current' : `steps ${steps}`}\t#${e.id}\t${e.date}\t${e.command}\t${describeEntry(e)}`,
    );
}

/** The driver tree's parser has no --channel; the channel's has one. */
function parseHistory(args: string[], drivers: boolean) {
  if (drivers)
    return {
      ...parseArgs({ args, allowPositionals: true, options: parseOptions('drivers history') }),
      channel: undefined,
    };
  const parsed = parseArgs({ args, allowPositionals: true, options: parseOptions('history') });
  return { ...parsed, channel: parsed.values.channel };
}
