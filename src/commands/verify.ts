import { readFile } from 'node:fs/promises';
import type { ObjectStore } from '../storage/object-store.js';
import { targetStore } from './target-store.js';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { formatFinding } from '../verify/findings.js';
import { httpSource } from '../verify/http-source.js';
import { type SiteSource, storeSource } from '../verify/site-source.js';
import { verifySite } from '../verify/verify.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';

/**
 * `pkgpub verify SITE`: one line per finding, a summary per part, exit 1 when any finding is an
 * error. Reads only.
 */
export async function runVerify(args: string[], r: Reporter): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions('verify'),
  });
  if (positionals.length !== 1)
    throw new UsageError('verify: name one site: a URL, a folder or s3://bucket/prefix');
  const target = positionals[0]!;
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError('--concurrency must be a whole number ≥ 1');
  const pinnedKeys = [];
  for (const file of values.key ?? []) {
    const bytes = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`--key ${file}: cannot read it (${err.code ?? err.message})`);
    });
    pinnedKeys.push({ file, bytes: new Uint8Array(bytes) });
  }
  const open = async (where: string): Promise<SiteSource> => {
    if (/^https?:\/\//i.test(where)) return httpSource(where);
    const store = await targetStore({ ...values, to: where });
    if (!where.startsWith('s3://') && !(await hasAny(store)))
      throw new UsageError(`verify: ${where} does not exist or holds nothing`);
    return storeSource(store);
  };
  const source = await open(target);
  const origin = values.origin ? await open(values.origin) : undefined;
  const report = await verifySite({
    source,
    pinnedKeys,
    ...(origin ? { origin } : {}),
    deep: values.deep ?? false,
    concurrency,
    ...(values.json ? {} : { onFinding: (f) => r.out(formatFinding(f)) }),
    status: (line) => r.status(line),
  });
  if (values.json) r.out(JSON.stringify(report, null, 2));
  else {
    r.out(`trust: ${report.trust}`);
    for (const s of report.summary)
      r.out(
        `${s.part}: ${s.checked}: ${s.errors} error${s.errors === 1 ? '' : 's'}, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}`,
      );
    r.out(
      report.errors === 0 ? `verified ${report.site}: no errors` : `${report.site}: ${report.errors} errors`,
    );
  }
  return report.errors > 0 ? 1 : 0;
}

async function hasAny(store: ObjectStore): Promise<boolean> {
  for await (const _ of store.list('')) return true;
  return false;
}
