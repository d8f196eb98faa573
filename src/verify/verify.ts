import { checkApt } from './check-apt.js';
import { checkDrivers } from './check-drivers.js';
import { checkKeys } from './check-keys.js';
import { checkListings } from './check-listings.js';
import { checkOrigin, pointerKeys } from './check-origin.js';
import { checkLooseTarballs, checkTarballs } from './check-tarballs.js';
import { checkYum } from './check-yum.js';
import type { VerifyContext } from './context.js';
import { findParts, learnFiles, type SiteFiles, type SiteParts } from './discover.js';
import { type Finding, Findings, type PartSummary } from './findings.js';
import { FileHasher } from './hash-files.js';
import { SignatureTemplates } from './signature-templates.js';
import type { SiteSource } from './site-source.js';
import { readPublicKeys, type Trust } from './trust.js';

export interface VerifyOptions {
  source: SiteSource;
  /** The origin the site is served from (--origin): every pointer served must be the origin's. */
  origin?: SiteSource;
  /** Pinned keys (--key); without them the site's own published keys are trusted, and the report says so. */
  pinnedKeys?: { file: string; bytes: Uint8Array }[];
  deep?: boolean;
  now?: Date;
  concurrency?: number;
  /**
   * Only these parts, without learning the tree (publish --verify: what the publish wrote). Sizes
   * are then asked of the site file by file.
   */
  only?: { parts: SiteParts; driverVersions: Map<string, Set<string>> };
  onFinding?: (f: Finding) => void;
  status?: (line: string) => void;
}

export interface VerifyReport {
  site: string;
  trust: string;
  findings: Finding[];
  summary: PartSummary[];
  errors: number;
  warnings: number;
}

/** Checks a published site the way its clients read it. Reads only. */
export async function verifySite(opts: VerifyOptions): Promise<VerifyReport> {
  const findings = new Findings(opts.onFinding);
  const status = opts.status ?? (() => {});
  const { source } = opts;
  let files: SiteFiles = { sizes: new Map(), exact: false, unlisted: [] };
  if (!opts.only) {
    status(`listing ${source.description}`);
    files = await learnFiles(source, (n) => status(`listing ${source.description}: ${n} files`));
  }
  for (const folder of files.unlisted)
    findings.note(
      'site',
      folder || '/',
      'site.unlisted',
      'the folder has no listing.json or HTML index: its files were not found',
    );
  const parts = opts.only?.parts ?? findParts(files.sizes.keys());
  const trust = await trustFrom(opts, source, parts.keyFiles, findings);
  const hasher = opts.deep && source.localPath ? new FileHasher() : undefined;
  const ctx: VerifyContext = {
    source,
    files,
    trust,
    now: opts.now ?? new Date(),
    deep: opts.deep ?? false,
    findings,
    concurrency: opts.concurrency ?? 16,
    status,
    ...(hasher ? { hasher } : {}),
    ...(opts.deep && trust
      ? { signatures: new SignatureTemplates(trust, (template, key) => hasher?.teach(template, key)) }
      : {}),
  };
  const repositories = async () => {
    try {
      for (const s of parts.aptSuites) await checkApt(ctx, s.root, s.suite);
      for (const r of parts.yumRepos) await checkYum(ctx, r);
      for (const folder of parts.sumsFolders) await checkTarballs(ctx, folder);
      if (parts.looseTarballs.length > 0) await checkLooseTarballs(ctx, parts.looseTarballs);
      for (const root of parts.driverTrees)
        await checkDrivers(ctx, root, opts.only?.driverVersions.get(root));
    } finally {
      await ctx.hasher?.close();
    }
  };
  const rest = async (c: VerifyContext) => {
    if (parts.keyFiles.length > 0) await checkKeys(c, parts.keyFiles);
    if (parts.listings.length > 0) await checkListings(c, parts.listings);
  };
  if (hasher?.parallel) {
    // With --deep the hashing workers are what the run waits for: the keys and listings, work for
    // this thread alone, are checked meanwhile, into a collector of their own that is reported
    // after the repositories', so the report reads in the same order as a run without workers.
    const aside = new Findings();
    const [repos, others] = await Promise.allSettled([repositories(), rest({ ...ctx, findings: aside })]);
    if (repos.status === 'rejected') throw repos.reason;
    if (others.status === 'rejected') throw others.reason;
    findings.absorb(aside);
  } else {
    await repositories();
    await rest(ctx);
  }
  if (opts.origin)
    await checkOrigin(ctx, opts.origin, pointerKeys(parts, files.sizes, opts.only?.driverVersions));
  if (
    !opts.only &&
    parts.aptSuites.length +
      parts.yumRepos.length +
      parts.sumsFolders.length +
      parts.looseTarballs.length +
      parts.driverTrees.length ===
      0
  )
    findings.error('site', '/', 'site.empty', 'no apt, yum, tarball or driver repository found here');
  const all = findings.all;
  return {
    site: source.description,
    trust: trust?.origin ?? 'none: no --key and no published keys, signatures not checked',
    findings: all,
    summary: findings.summary(),
    errors: all.filter((x) => x.level === 'error').length,
    warnings: all.filter((x) => x.level === 'warning').length,
  };
}

async function trustFrom(
  opts: VerifyOptions,
  source: SiteSource,
  keyFiles: string[],
  findings: Findings,
): Promise<Trust | undefined> {
  if (opts.pinnedKeys && opts.pinnedKeys.length > 0) {
    const keys = [];
    for (const k of opts.pinnedKeys) keys.push(...(await readPublicKeys(k.bytes)));
    return { keys, origin: `pinned: ${opts.pinnedKeys.map((k) => k.file).join(', ')}` };
  }
  const keys = [];
  const used: string[] = [];
  for (const file of keyFiles) {
    const bytes = await source.get(file);
    if (!bytes) continue;
    try {
      keys.push(...(await readPublicKeys(bytes)));
      used.push(file);
    } catch {
      // checkKeys reports the unreadable file.
    }
  }
  if (keys.length === 0) {
    findings.warning(
      'keys',
      'keys/',
      'keys.none',
      'no --key given and the site publishes no keys: signatures cannot be checked',
    );
    return undefined;
  }
  findings.note(
    'keys',
    used.join(', '),
    'keys.trust',
    "trusting the site's own published keys (pin them with --key)",
  );
  return { keys, origin: `the site's own keys: ${used.join(', ')}` };
}
