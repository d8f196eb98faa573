import { formatBytes } from '../format-bytes.js';

/**
 * Turns the document `pkgpub <command> --json` prints into a GitHub job summary (markdown) and
 * step outputs. Pure: the entry in write-job-summary.ts does the reading and writing, so this
 * can be checked against any document without a runner.
 */

/** Where users install from, worked out from the same config the command resolved. */
export interface InstallUrls {
  baseUrl: string;
  channel: string;
  /** The one-line apt source, exactly as the published .list file has it. */
  aptSource: string;
  aptListUrl: string;
  yumRepoUrl: string;
  keyUrl: string;
  /** Where users put the key: the file the apt source's signed-by names. */
  keyringPath: string;
  /** The file name of the apt .list and the yum .repo under sources.list.d / yum.repos.d. */
  aptListName: string;
  yumRepoName: string;
}

export interface JobSummary {
  markdown: string;
  /** Step outputs by name; values may span lines (written with a delimiter). */
  outputs: Record<string, string>;
}

interface Part {
  added: string[];
  removed: string[];
  unchanged: string[];
}

/** The fields of the --json document the summary reads; every command that changes a tree shares them. */
interface ResultDoc {
  target: string;
  dryRun: boolean;
  parts: [string, Part][];
  puts: number;
  deletes: number;
  alreadyInPlace: number;
  applied?: { written: number; deleted: number; bytes: number };
  verify?: { site: string; errors: number; warnings: number };
  cdn?: { status: string; target: string; paths: number; id?: string; reason?: string };
}

const PART_LABELS: Record<string, string> = {
  apt: 'apt (.deb)',
  yum: 'yum (.rpm)',
  bin: 'tarballs',
  drivers: 'drivers',
};

/** Names listed per part and kind; a summary is capped at 1 MiB, and a long list is read by nobody. */
const LIST_CAP = 50;

export function jobSummary(command: string, result: unknown, urls: InstallUrls): JobSummary {
  const doc = readDoc(result);
  const total = (k: keyof Part) => doc.parts.reduce((n, [, p]) => n + p[k].length, 0);
  const written = doc.applied?.written ?? 0;
  const lines: string[] = [];
  const mode = doc.dryRun ? ' (dry run: nothing was written)' : '';
  lines.push(`### pkgpub ${text(command)}: ${text(doc.target)}, ${text(urls.channel)} channel${mode}`, '');
  if (doc.parts.length > 0) {
    lines.push('| part | added | removed | unchanged |', '| --- | ---: | ---: | ---: |');
    for (const [name, p] of doc.parts)
      lines.push(
        `| ${text(PART_LABELS[name] ?? name)} | ${p.added.length} | ${p.removed.length} | ${p.unchanged.length} |`,
      );
    lines.push('');
    for (const [kind, verb] of [
      ['added', 'Added'],
      ['removed', 'Removed'],
    ] as const) {
      const named = doc.parts.filter(([, p]) => p[kind].length > 0);
      if (named.length === 0) continue;
      lines.push(`**${verb}**`, '');
      for (const [name, p] of named) {
        const shown = p[kind].slice(0, LIST_CAP).map(code).join(', ');
        const more = p[kind].length > LIST_CAP ? ` and ${p[kind].length - LIST_CAP} more` : '';
        lines.push(`- ${text(PART_LABELS[name] ?? name)}: ${shown}${more}`);
      }
      lines.push('');
    }
  }
  lines.push(
    doc.applied
      ? `${doc.applied.written} objects written (${formatBytes(doc.applied.bytes)}), ${doc.applied.deleted} deleted, ${doc.alreadyInPlace} already in place.`
      : `${doc.puts} writes and ${doc.deletes} deletes planned, ${doc.alreadyInPlace} already in place.`,
    '',
  );
  if (doc.verify)
    lines.push(
      `Verify through ${text(doc.verify.site)}: ${doc.verify.errors} errors, ${doc.verify.warnings} warnings.`,
      '',
    );
  if (doc.cdn) lines.push(cdnLine(doc.cdn), '');
  lines.push(...installSection(urls));
  const summaryJson = {
    command,
    target: doc.target,
    dryRun: doc.dryRun,
    channel: urls.channel,
    parts: Object.fromEntries(
      doc.parts.map(([name, p]) => [
        name,
        { added: p.added, removed: p.removed, unchanged: p.unchanged.length },
      ]),
    ),
    objectsWritten: written,
    objectsDeleted: doc.applied?.deleted ?? 0,
    ...(doc.verify ? { verifyErrors: doc.verify.errors } : {}),
    baseUrl: urls.baseUrl,
    aptSource: urls.aptSource,
    yumRepoUrl: urls.yumRepoUrl,
    keyUrl: urls.keyUrl,
  };
  return {
    markdown: `${lines.join('\n')}\n`,
    outputs: {
      added: String(total('added')),
      removed: String(total('removed')),
      unchanged: String(total('unchanged')),
      'objects-written': String(written),
      'objects-deleted': String(doc.applied?.deleted ?? 0),
      'dry-run': String(doc.dryRun),
      ...(doc.verify ? { 'verify-errors': String(doc.verify.errors) } : {}),
      'base-url': urls.baseUrl,
      'apt-source': urls.aptSource,
      'apt-list-url': urls.aptListUrl,
      'yum-repo-url': urls.yumRepoUrl,
      'key-url': urls.keyUrl,
      'summary-json': JSON.stringify(summaryJson),
    },
  };
}

function installSection(u: InstallUrls): string[] {
  return [
    '#### Install',
    '',
    `Base URL: ${u.baseUrl}`,
    '',
    'apt (Debian, Ubuntu):',
    '',
    '```sh',
    `sudo curl -fsSL ${u.keyUrl} -o ${u.keyringPath}`,
    `echo ${shellQuote(u.aptSource)} | sudo tee /etc/apt/sources.list.d/${u.aptListName}`,
    'sudo apt-get update',
    '```',
    '',
    'dnf / yum (Fedora, RHEL, Amazon Linux):',
    '',
    '```sh',
    `sudo curl -fsSL ${u.yumRepoUrl} -o /etc/yum.repos.d/${u.yumRepoName}`,
    '```',
    '',
  ];
}

function cdnLine(c: NonNullable<ResultDoc['cdn']>): string {
  const n = `${c.paths} path${c.paths === 1 ? '' : 's'}`;
  if (c.status === 'sent')
    return `CDN: invalidated ${n} on ${text(c.target)} (invalidation ${text(c.id ?? '')}).`;
  if (c.status === 'failed')
    return `CDN: **could not invalidate** ${n} on ${text(c.target)}: ${text(c.reason ?? '')}`;
  return `CDN: would invalidate ${n} on ${text(c.target)}.`;
}

/** One shell word, whatever the URL holds. */
function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** Inline code that survives backticks and pipes inside the value (a pipe would end a table cell). */
function code(s: string): string {
  const fence = s.includes('`') ? '``' : '`';
  return `${fence}${s.replaceAll('|', '\\|')}${fence}`;
}

/** Text from the document, kept from being read as markdown or HTML. */
function text(s: string): string {
  return s.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);
}

function readDoc(result: unknown): ResultDoc {
  if (!isObject(result) || typeof result.target !== 'string')
    throw new Error('not a pkgpub --json result (no "target")');
  const changes = isObject(result.changes) ? result.changes : {};
  const parts: [string, Part][] = [];
  for (const [name, v] of Object.entries(changes)) {
    if (!isObject(v)) continue;
    parts.push([
      name,
      { added: strings(v.added), removed: strings(v.removed), unchanged: strings(v.unchanged) },
    ]);
  }
  const plan = isObject(result.plan) ? result.plan : {};
  const doc: ResultDoc = {
    target: result.target,
    dryRun: result.dryRun === true,
    parts,
    puts: Array.isArray(plan.puts) ? plan.puts.length : 0,
    deletes: Array.isArray(plan.deletes) ? plan.deletes.length : 0,
    alreadyInPlace: typeof plan.unchanged === 'number' ? plan.unchanged : 0,
  };
  const a = result.applied;
  if (isObject(a)) doc.applied = { written: num(a.written), deleted: num(a.deleted), bytes: num(a.bytes) };
  const v = result.verify;
  if (isObject(v))
    doc.verify = { site: String(v.site ?? ''), errors: num(v.errors), warnings: num(v.warnings) };
  const c = result.cdn;
  if (isObject(c))
    doc.cdn = {
      status: String(c.status),
      target: String(c.target ?? ''),
      paths: Array.isArray(c.paths) ? c.paths.length : 0,
      ...(typeof c.id === 'string' ? { id: c.id } : {}),
      ...(typeof c.reason === 'string' ? { reason: c.reason } : {}),
    };
  return doc;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
