import type { ResolvedConfig } from '../../config/resolve.js';
import { bytesFile } from '../../model/output-file.js';
import type { OutputFile } from '../../model/tiers.js';
import { renderRepoTemplate } from '../templates.js';

/** The repository id users see in dnf: the dev channel gets its own, so both can be enabled. */
export function yumRepoId(cfg: ResolvedConfig): string {
  return cfg.channel === 'dev' ? `${cfg.yum.name}-dev` : cfg.yum.name;
}

/**
 * `<rpm prefix>/<name>.repo`, the file users drop into /etc/yum.repos.d/. gpgcheck is on only
 * when pkgpub signs the rpms itself; repo_gpgcheck whenever repomd.xml is signed.
 */
export async function yumRepoFile(
  cfg: ResolvedConfig,
  opts: { signed: boolean; rpmsSigned: boolean; keyUrls?: string[] },
): Promise<OutputFile> {
  const key = `${cfg.prefixes.rpm}/${cfg.yum.name}.repo`;
  const text = await renderRepoTemplate('yum.repo.ejs', {
    origin: cfg.origin,
    channel: cfg.channel,
    repoId: yumRepoId(cfg),
    repoUrl: `${cfg.baseUrl}/${cfg.prefixes.rpm}`,
    repoFileUrl: `${cfg.baseUrl}/${key}`,
    keyUrl: (opts.keyUrls ?? [`${cfg.baseUrl}/${cfg.prefixes.keys}/${cfg.project}-packages.asc`]).join(' '),
    signed: opts.signed,
    rpmsSigned: opts.rpmsSigned,
  });
  return bytesFile(key, 'index', text);
}
