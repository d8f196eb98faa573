import type { ResolvedConfig } from '../../config/resolve.js';
import { bytesFile } from '../../model/output-file.js';
import type { OutputFile } from '../../model/tiers.js';
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

export function keyFiles(cfg: ResolvedConfig, fingerprint: string, publicArmored: string): OutputFile[] {
  const names = keyNames(cfg, fingerprint);
  return [
    { ...bytesFile(names.perKey, 'blob', publicArmored), immutable: true },
    bytesFile(names.alias, 'index', publicArmored),
  ];
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
