import { readKey } from 'openpgp';
import type { ResolvedConfig } from '../config/resolve.js';
import type { KeyExtension } from '../model/key-notices.js';
import { renderRepoTemplate } from '../repos/templates.js';
import type { RootExtras } from './render-listing.js';

/** Answers whether a key or folder ("packages/deb") is in the tree, from the listings at hand. */
export type ExistsFn = (path: string) => boolean;

/** Paths the root page looks for; their folders' listings must be at hand when it renders. */
export function rootProbePaths(cfg: ResolvedConfig): string[] {
  const out: string[] = [];
  for (const kind of ['deb', 'rpm', 'bin'] as const)
    for (const c of channelsOf(cfg.prefixes[kind])) out.push(c.path);
  out.push(cfg.prefixes.driver, `${cfg.prefixes.driver}/site/index.html`, keyAlias(cfg));
  return out;
}

function channelsOf(prefix: string): { channel: 'stable' | 'dev'; path: string }[] {
  const base = prefix.replace(/-dev$/, '');
  return [
    { channel: 'stable', path: base },
    { channel: 'dev', path: `${base}-dev` },
  ];
}

function keyAlias(cfg: ResolvedConfig): string {
  return `${cfg.prefixes.keys}/${cfg.project}-packages.asc`;
}

function href(path: string, folder: boolean): string {
  const enc = path.split('/').map(encodeURIComponent).join('/');
  return folder ? `${enc}/index.html` : enc;
}

/** "ABCD 1234 ..." as gpg prints fingerprints: easier to compare by eye. */
export function groupFingerprint(fpr: string): string {
  return (
    fpr
      .toUpperCase()
      .replace(/[^0-9A-F]/g, '')
      .match(/.{1,4}/g)
      ?.join(' ') ?? ''
  );
}

/** The fingerprint of a published armored public key; undefined when it cannot be read. */
export async function fingerprintOf(armored: Uint8Array | string | undefined): Promise<string | undefined> {
  if (!armored) return undefined;
  try {
    const text = typeof armored === 'string' ? armored : new TextDecoder().decode(armored);
    return (await readKey({ armoredKey: text })).getFingerprint().toUpperCase();
  } catch {
    return undefined;
  }
}

/**
 * The root page's install section: the sources snippets and commands for every channel the
 * tree holds, rendered from repo-templates/ with the config's names and base URL.
 */
export async function rootExtras(
  cfg: ResolvedConfig,
  exists: ExistsFn,
  fingerprint?: string,
  extensions: KeyExtension[] = [],
): Promise<RootExtras> {
  const alias = keyAlias(cfg);
  const keyName = alias.slice(alias.lastIndexOf('/') + 1);
  const keyUrl = `${cfg.baseUrl}/${alias}`;
  const signed = fingerprint !== undefined || exists(alias);
  const deb = [];
  for (const c of channelsOf(cfg.prefixes.deb)) {
    if (!exists(c.path)) continue;
    const data = {
      origin: cfg.origin,
      project: cfg.project,
      channel: c.channel,
      repoUrl: `${cfg.baseUrl}/${c.path}`,
      keyUrl,
      keyFile: keyName,
      suite: cfg.apt.suite,
      components: cfg.apt.components,
      signed,
    };
    const stem = c.channel === 'dev' ? `${cfg.project}-dev` : cfg.project;
    deb.push({
      channel: c.channel,
      path: c.path,
      href: href(c.path, true),
      listName: `${stem}.list`,
      sourcesName: `${stem}.sources`,
      list: (await renderRepoTemplate('apt.list.ejs', data)).trimEnd(),
      sources: (await renderRepoTemplate('apt.sources.ejs', data)).trimEnd(),
    });
  }
  const rpm = [];
  for (const c of channelsOf(cfg.prefixes.rpm)) {
    if (!exists(c.path)) continue;
    const repoId = c.channel === 'dev' ? `${cfg.yum.name}-dev` : cfg.yum.name;
    const repoPath = `${c.path}/${cfg.yum.name}.repo`;
    const commands = await renderRepoTemplate('yum-install.ejs', {
      project: cfg.project,
      repoFile: `${repoId}.repo`,
      repoFileUrl: `${cfg.baseUrl}/${repoPath}`,
    });
    rpm.push({
      channel: c.channel,
      path: c.path,
      href: href(c.path, true),
      repoName: `${cfg.yum.name}.repo`,
      repoHref: href(repoPath, false),
      commands: commands.trimEnd(),
    });
  }
  const bin = channelsOf(cfg.prefixes.bin)
    .filter((c) => exists(c.path))
    .map((c) => ({ channel: c.channel, path: c.path, href: href(c.path, true) }));
  const driverBrowser = `${cfg.prefixes.driver}/site/index.html`;
  const drivers = exists(cfg.prefixes.driver)
    ? {
        path: cfg.prefixes.driver,
        href: href(cfg.prefixes.driver, true),
        ...(exists(driverBrowser) ? { browserHref: href(driverBrowser, false) } : {}),
      }
    : undefined;
  return {
    install: {
      description: cfg.description,
      baseUrl: cfg.baseUrl,
      signed,
      fingerprint: fingerprint ? groupFingerprint(fingerprint) : undefined,
      keyName,
      keyHref: href(alias, false),
      // Copies saved before an extension stop verifying at their old expiry: say until when to refetch.
      keyNotices: extensions.map((e) => ({
        fingerprint: groupFingerprint(e.fingerprint),
        extendedOn: e.date.slice(0, 10),
        expires: e.expires.slice(0, 10),
        refetchBefore: e.previousExpiry!.slice(0, 10),
      })),
      deb,
      rpm,
      bin,
      drivers,
    },
  };
}
