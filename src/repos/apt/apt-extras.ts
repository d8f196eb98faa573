import type { ResolvedConfig } from '../../config/resolve.js';
import { bytesFile } from '../../model/output-file.js';
import type { OutputFile } from '../../model/tiers.js';
import { signersOf } from '../../signing/multi-signer.js';
import type { Signer } from '../../signing/signer.js';
import { renderRepoTemplate } from '../templates.js';

export interface KeyNames {
  /** keys/<project>-<shortid>.asc: one file per key, never rewritten. */
  perKey: string;
  /** keys/<project>-packages.asc: the stable name snippets point at. */
  alias: string;
}

export function keyNames(cfg: ResolvedConfig, fingerprint: string): KeyNames {
  return {
    perKey: `${cfg.prefixes.keys}/${cfg.project}-${fingerprint.slice(-8).toLowerCase()}.asc`,
    alias: `${cfg.prefixes.keys}/${cfg.project}-packages.asc`,
  };
}

/**
 * A file per key, and the alias holding every key the signer signs with: during a rotation the
 * alias is the bundle of both, so a client that fetches it trusts either.
 */
export function keyFilesOf(cfg: ResolvedConfig, signer: Signer): OutputFile[] {
  const perKey = signersOf(signer).map(
    (s): OutputFile => ({
      ...bytesFile(keyNames(cfg, s.fingerprint).perKey, 'blob', s.publicKeyArmored()),
      immutable: true,
    }),
  );
  return [...perKey, bytesFile(keyNames(cfg, signer.fingerprint).alias, 'index', signer.publicKeyArmored())];
}

/**
 * What a `.repo` file's gpgkey= lists: the alias for one key; during a rotation each key's own
 * file, which is never rewritten, so what dnf shows and imports for the repository is exactly
 * those keys whatever the alias holds by the time it looks (it drops the old key at retire).
 */
export function gpgkeyUrls(cfg: ResolvedConfig, signer: Signer | undefined): string[] {
  const signers = signer ? signersOf(signer) : [];
  const base = `${cfg.baseUrl}/`;
  if (signers.length <= 1) return [`${base}${keyNames(cfg, signer?.fingerprint ?? '').alias}`];
  return signers.map((s) => `${base}${keyNames(cfg, s.fingerprint).perKey}`);
}

/** The sources snippets users copy: one-line .list and deb822 .sources. */
export async function aptSnippets(cfg: ResolvedConfig, signed: boolean): Promise<OutputFile[]> {
  const alias = `${cfg.project}-packages.asc`;
  const data = {
    origin: cfg.origin,
    project: cfg.project,
    channel: cfg.channel,
    repoUrl: `${cfg.baseUrl}/${cfg.prefixes.deb}`,
    keyUrl: `${cfg.baseUrl}/${cfg.prefixes.keys}/${alias}`,
    keyFile: alias,
    suite: cfg.apt.suite,
    components: cfg.apt.components,
    signed,
  };
  return [
    bytesFile(
      `${cfg.prefixes.deb}/${cfg.project}.list`,
      'index',
      await renderRepoTemplate('apt.list.ejs', data),
    ),
    bytesFile(
      `${cfg.prefixes.deb}/${cfg.project}.sources`,
      'index',
      await renderRepoTemplate('apt.sources.ejs', data),
    ),
  ];
}
