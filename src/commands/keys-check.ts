import { parseArgs } from 'node:util';
import { targetStore } from './target-store.js';
import { loadConfigFile } from '../config/load-config.js';
import { type ResolvedConfig, resolveConfig } from '../config/resolve.js';
import { SigningError, UsageError } from '../errors.js';
import { keyNames } from '../repos/apt/apt-extras.js';
import { algorithmLabel, type KeyReport, keysIn, reportKey, type Verdict } from '../signing/key-report.js';
import { readSigningKey } from '../signing/load-key.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { Reporter } from './reporter.js';
import { signingKeyFile } from './signer-from-env.js';
import { parseOptions } from './table/commands.js';
import { usage } from './table/render-help.js';

/** A published key file (keys/*.asc) and what it holds. */
export interface PublishedKeyFile {
  key: string;
  /** bundle: keys/<project>-packages.asc, what snippets and .repo files point at; per-key: keys/<project>-<id>.asc. */
  role: 'bundle' | 'per-key' | 'other';
  /**
   * Keys neither in the bundle nor the signing key are retired (an old key's file stays in the tree):
   * their findings are notes, so a key replaced long ago does not fail the check forever.
   */
  keys: (KeyReport & { retired: boolean })[];
  /** Set when the file could not be read as keys. */
  error?: string;
}

/** The `--json` document; its shape is interface (README "keys check"). */
export interface KeysCheckResult {
  status: Verdict;
  checkedAt: string;
  warnDays: number;
  signingKey: (KeyReport & { source: string }) | null;
  target: string | null;
  bundle: { key: string; present: boolean; fingerprints: string[]; holdsSigningKey: boolean | null } | null;
  files: PublishedKeyFile[];
  errors: string[];
  warnings: string[];
  notes: string[];
}

/**
 * `pkgpub keys check`: the signing key (public parts only: no passphrase) and every key the
 * target's keys/ folder publishes, judged by publish's own rules. Meant for a scheduled CI job:
 * exit 1 on any error, 0 with warnings, 2 for bad usage.
 */
export async function runKeysCheck(args: string[], r: Reporter): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions('keys check'),
  });
  if (positionals.length > 1) throw new UsageError(usage('keys check'));
  if (positionals.length === 1 && values['signing-key'])
    throw new UsageError('keys check: give the key file either as KEY_FILE or as --signing-key, not both');
  const warnDays = Number(values['warn-days']);
  if (!Number.isInteger(warnDays) || warnDays < 0)
    throw new UsageError('--warn-days must be a whole number of days (0: never warn)');
  const file = await loadConfigFile(values.config, values.config !== 'pkgpub.yaml');
  const cfg = resolveConfig(file, {});
  const keyFile = positionals[0] ?? signingKeyFile(values['signing-key'], file);
  const envKey = process.env.PKGPUB_SIGNING_KEY;
  if (keyFile === undefined && !envKey && values.to === undefined)
    throw new UsageError(
      `keys check: nothing to check (name a key file or a target)\n${usage('keys check')}`,
    );
  const store = values.to === undefined ? undefined : await targetStore({ ...values, to: values.to });
  const result = await checkKeys({
    cfg,
    now: new Date(),
    warnDays,
    ...(keyFile !== undefined ? { keyFile } : envKey ? { keyArmored: envKey } : {}),
    ...(store ? { store } : {}),
  });
  if (values.json) r.out(JSON.stringify(result, null, 2));
  else printResult(result, r);
  if (result.errors.length > 0)
    throw new SigningError(
      `keys check: ${result.errors.length} error(s)${result.warnings.length ? `, ${result.warnings.length} warning(s)` : ''}`,
    );
}

export interface CheckKeysInput {
  cfg: ResolvedConfig;
  now: Date;
  warnDays: number;
  keyFile?: string;
  keyArmored?: string;
  store?: ObjectStore;
}

export async function checkKeys(input: CheckKeysInput): Promise<KeysCheckResult> {
  const { cfg, now, warnDays, store } = input;
  const errors = new Findings();
  const warnings = new Findings();
  const notes = new Findings();
  let signingKey: KeysCheckResult['signingKey'] = null;
  if (input.keyFile !== undefined || input.keyArmored !== undefined) {
    const source = input.keyFile ?? 'PKGPUB_SIGNING_KEY';
    const key = await readSigningKey(
      input.keyFile !== undefined ? { keyFile: input.keyFile } : { keyArmored: input.keyArmored! },
    );
    signingKey = { source, ...(await reportKey(key, now, warnDays)) };
    for (const e of signingKey.errors) errors.add(source, e);
    for (const w of signingKey.warnings) warnings.add(source, w);
  }
  let bundle: KeysCheckResult['bundle'] = null;
  const files: PublishedKeyFile[] = [];
  if (store) {
    const alias = `${cfg.prefixes.keys}/${cfg.project}-packages.asc`;
    const perKey = new RegExp(`^${reEscape(`${cfg.prefixes.keys}/${cfg.project}-`)}[0-9a-f]{8}\\.asc$`);
    const found: { key: string; keys: Awaited<ReturnType<typeof keysIn>>; error?: string }[] = [];
    for await (const o of store.listFolder(`${cfg.prefixes.keys}/`)) {
      if (!o.key.endsWith('.asc')) continue;
      const bytes = await store.get(o.key);
      if (!bytes) continue;
      try {
        found.push({ key: o.key, keys: await keysIn(bytes, o.key) });
      } catch (err) {
        if (!(err instanceof SigningError)) throw err;
        found.push({ key: o.key, keys: [], error: err.message });
      }
    }
    found.sort((a, b) => Number(b.key === alias) - Number(a.key === alias) || (a.key < b.key ? -1 : 1));
    const inBundle =
      found.find((f) => f.key === alias)?.keys.map((k) => k.getFingerprint().toUpperCase()) ?? [];
    const current = new Set(inBundle);
    if (signingKey) current.add(signingKey.fingerprint);
    for (const f of found) {
      const role = f.key === alias ? 'bundle' : perKey.test(f.key) ? 'per-key' : 'other';
      const entry: PublishedKeyFile = { key: f.key, role, keys: [] };
      if (f.error) {
        entry.error = f.error;
        (role === 'other' ? notes : errors).add('', f.error);
      }
      for (const k of f.keys) {
        const rep = await reportKey(k, now, warnDays);
        const retired = !current.has(rep.fingerprint);
        entry.keys.push({ ...rep, retired });
        if (retired) for (const m of [...rep.errors, ...rep.warnings]) notes.add(f.key, `retired key: ${m}`);
        else {
          for (const e of rep.errors) errors.add(f.key, e);
          for (const w of rep.warnings) warnings.add(f.key, w);
        }
      }
      files.push(entry);
    }
    const present = found.some((f) => f.key === alias);
    bundle = {
      key: alias,
      present,
      fingerprints: inBundle,
      holdsSigningKey: signingKey ? inBundle.includes(signingKey.fingerprint) : null,
    };
    if (!present)
      errors.add(
        '',

        `${alias} is not in ${store.description}: users have no key to fetch (a signed publish writes it)`,
      );
    else if (signingKey && !bundle.holdsSigningKey)
      errors.add(
        '',
        `${alias} does not hold the signing key ${signingKey.fingerprint}: apt and dnf users who fetch it cannot verify what that key signs`,
      );
    if (signingKey && bundle.holdsSigningKey) {
      const copy = files[0]?.keys.find((k) => k.fingerprint === signingKey!.fingerprint);
      if (copy && earlier(copy.expires, signingKey.expires))
        warnings.add(
          '',
          `${alias} holds an older copy of the signing key (it expires ${copy.expires?.slice(0, 10)}, the key file says ${signingKey.expires?.slice(0, 10) ?? 'never'}): publish the key file's copy (\`pkgpub keys extend\` or any signed publish)`,
        );
    }
    if (signingKey && !found.some((f) => f.key === keyNames(cfg, signingKey!.fingerprint).perKey))
      notes.add(
        '',
        `${keyNames(cfg, signingKey.fingerprint).perKey} is not published yet (the next signed publish writes it)`,
      );
  }
  return {
    status: errors.size > 0 ? 'error' : warnings.size > 0 ? 'warning' : 'ok',
    checkedAt: now.toISOString(),
    warnDays,
    signingKey,
    target: store?.description ?? null,
    bundle,
    files,
    errors: errors.list(),
    warnings: warnings.list(),
    notes: notes.list(),
  };
}

/**
 * Findings as printed: "where: message", one line per message. The bundle and the per-key file
 * usually hold the very key the key file holds, so the same finding names all three places once.
 */
class Findings {
  private readonly byMessage = new Map<string, string[]>();
  get size(): number {
    return this.byMessage.size;
  }
  add(where: string, message: string): void {
    const places = this.byMessage.get(message);
    if (places) {
      if (where) places.push(where);
    } else this.byMessage.set(message, where ? [where] : []);
  }
  list(): string[] {
    return [...this.byMessage].map(([m, places]) => (places.length ? `${places.join(', ')}: ${m}` : m));
  }
}

/** True when expiry `a` comes before `b` (null: never). */
function earlier(a: string | null, b: string | null): boolean {
  if (a === null) return false;
  return b === null || a < b;
}

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function printResult(res: KeysCheckResult, r: Reporter): void {
  if (res.signingKey) printKey(`signing key (${res.signingKey.source})`, res.signingKey, r);
  for (const f of res.files) {
    if (f.error) {
      r.out(`${f.key} (${f.role}): unreadable`);
      continue;
    }
    for (const k of f.keys) printKey(`${f.key} (${f.role}${k.retired ? ', retired' : ''})`, k, r);
  }
  if (res.bundle?.present && res.bundle.holdsSigningKey !== null)
    r.out(
      `bundle ${res.bundle.key} ${res.bundle.holdsSigningKey ? 'holds' : 'does NOT hold'} the signing key (${res.bundle.fingerprints.length} key(s) in it)`,
    );
  for (const n of res.notes) r.info(`note: ${n}`);
  for (const w of res.warnings) r.warn(w);
  for (const e of res.errors) r.info(`error: ${e}`);
  r.out(`status: ${res.status} (${res.errors.length} error(s), ${res.warnings.length} warning(s))`);
}

function printKey(title: string, k: KeyReport, r: Reporter): void {
  const when = (iso: string | null, days: number | null) =>
    iso === null ? 'never' : `${iso.slice(0, 10)} (${days! < 0 ? 'expired' : `${days} days left`})`;
  r.out(title);
  r.out(`  fingerprint  ${k.fingerprint}`);
  r.out(`  algorithm    ${algorithmLabel(k)}`);
  r.out(`  created      ${k.created.slice(0, 10)}`);
  r.out(`  expires      ${when(k.expires, k.daysLeft)}${k.revoked ? ', REVOKED' : ''}`);
  for (const s of k.signatures)
    r.out(`  ${s.kind.padEnd(15)}${s.hash} ${s.created?.slice(0, 10) ?? '?'} on ${s.on}`);
  for (const s of k.subkeys)
    r.out(
      `  subkey       ${s.fingerprint} ${algorithmLabel(s)} [${s.capabilities.join(',')}] expires ${when(s.expires, s.daysLeft)}: ${s.usable ? 'usable' : s.revoked ? 'revoked' : 'not usable'}`,
    );
  r.out(`  signs with   ${k.signsWith ?? '-'}`);
  r.out(`  status       ${k.status}`);
}
