import { parseArgs } from 'node:util';
import { readHistory } from '../changes/rollback.js';
import { loadConfigFile } from '../config/load-config.js';
import { resolveConfig } from '../config/resolve.js';
import { UsageError } from '../errors.js';
import { type HistoryEntry, kindOf } from '../model/history.js';
import { openStore } from '../storage/open-store.js';
import type { Reporter } from './reporter.js';

const KIND_NAMES: Record<string, string> = { apt: 'apt', yum: 'yum', bin: 'tarballs' };

function describeEntry(e: HistoryEntry): string {
  const kinds = Object.entries(e.summary).map(
    ([k, s]) => `${KIND_NAMES[k] ?? k} +${s.added.length} -${s.removed.length}`,
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

/** `pkgpub history --channel C`: the generations `pkgpub rollback` can go back to, newest first. */
export async function runHistory(args: string[], r: Reporter): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      to: { type: 'string', default: './public' },
      channel: { type: 'string', default: 'stable' },
      config: { type: 'string', default: 'pkgpub.yaml' },
      json: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      'force-path-style': { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 0) throw new UsageError(`history takes no arguments (got "${positionals[0]}")`);
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, { channel: values.channel });
  const store = await openStore(values.to, {
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(values['force-path-style'] ? { forcePathStyle: true } : {}),
  });
  const record = await readHistory(store, cfg);
  const newestFirst = [...record.entries].reverse();
  if (values.json) {
    r.out(
      JSON.stringify({
        channel: cfg.channel,
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
    r.out(`channel ${cfg.channel} in ${store.description} has no history yet`);
    return;
  }
  r.out(
    `channel ${cfg.channel} in ${store.description}: ${newestFirst.length} generation(s), newest first (rollback --steps N goes N back)`,
  );
  for (const [steps, e] of newestFirst.entries())
    r.out(
      `${steps === 0 ? 'current' : `steps ${steps}`}\t#${e.id}\t${e.date}\t${e.command}\t${describeEntry(e)}`,
    );
}
