import type { ResolvedConfig } from '../config/resolve.js';
import { aptSnippets } from '../repos/apt/apt-extras.js';
import type { InstallUrls } from './job-summary.js';

/**
 * The URLs a publish with `cfg` tells users to install from. The apt line is taken from the
 * rendered .list snippet itself, so the summary cannot drift from what the tree serves.
 */
export async function installUrls(cfg: ResolvedConfig, signed: boolean): Promise<InstallUrls> {
  const [list] = await aptSnippets(cfg, signed);
  if (!list || !('bytes' in list.body)) throw new Error('the apt .list snippet has no text');
  const listText = Buffer.from(list.body.bytes).toString('utf8');
  const aptSource = listText.split('\n').find((l) => l.startsWith('deb '));
  if (!aptSource) throw new Error(`no "deb " line in ${list.key}`);
  const keyFile = `${cfg.project}-packages.asc`;
  const yumRepoName = `${cfg.yum.name}.repo`;
  return {
    baseUrl: cfg.baseUrl,
    channel: cfg.channel,
    aptSource,
    aptListUrl: `${cfg.baseUrl}/${list.key}`,
    yumRepoUrl: `${cfg.baseUrl}/${cfg.prefixes.rpm}/${yumRepoName}`,
    keyUrl: `${cfg.baseUrl}/${cfg.prefixes.keys}/${keyFile}`,
    keyringPath: `/usr/share/keyrings/${keyFile}`,
    aptListName: `${cfg.project}.list`,
    yumRepoName,
  };
}
