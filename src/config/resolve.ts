import { ConfigError } from '../errors.js';
import { parseAge, parseKeep, parseProtect, parseSize, type RetentionPolicy } from '../retention/policy.js';
import { CONFIG_DEFAULTS } from './defaults.js';
import type { ConfigFile, RetentionFile } from './schema.js';

export type Channel = 'stable' | 'dev';

/** Everything a publish needs, defaults filled in; builders read only this. */
export interface ResolvedConfig {
  project: string;
  /** Public URL of the tree's root, without a trailing slash (used in snippets and listings). */
  baseUrl: string;
  origin: string;
  label: string;
  description: string;
  channel: Channel;
  prefixes: { deb: string; rpm: string; bin: string; driver: string; keys: string };
  apt: {
    suite: string;
    codename: string;
    components: string[];
    /** The component new packages go to. */
    component: string;
    architectures: string[];
    byHashGenerations: number;
    validUntilDays?: number;
    /** Folder, relative to the deb prefix, holding the .deb files (Falco: "stable"). */
    pool: string;
  };
  yum: { name: string; compression: 'gz' | 'zstd' };
  /** pkgpub.yaml's `retention:` per channel (what `pkgpub prune` does without flags). */
  retention: Partial<Record<Channel, RetentionPolicy>>;
  /** Earlier generations each channel's history keeps (0: the current one only). */
  rollback: { generations: number };
}

export interface ResolveFlags {
  channel?: string;
  component?: string;
  baseUrl?: string;
}

const DEB_ARCH = /^[a-z0-9][a-z0-9-]*$/;

export function resolveConfig(file: ConfigFile, flags: ResolveFlags = {}): ResolvedConfig {
  const problems: string[] = [];
  const channel = flags.channel ?? 'stable';
  if (channel !== 'stable' && channel !== 'dev')
    problems.push(`--channel must be stable or dev, not "${channel}"`);
  const suffix = channel === 'dev' ? '-dev' : '';
  const project = file.project ?? CONFIG_DEFAULTS.project;
  if (!/^[a-z0-9][a-z0-9._+-]*$/.test(project))
    problems.push(`project "${project}" must be lower case letters, digits and . _ + -`);
  const apt = file.apt ?? {};
  const components = apt.components ?? [...CONFIG_DEFAULTS.apt.components];
  const component = flags.component ?? components[0] ?? 'main';
  if (!components.includes(component))
    problems.push(`component "${component}" is not one of apt.components (${components.join(', ')})`);
  const architectures = apt.architectures ?? [...CONFIG_DEFAULTS.apt.architectures];
  for (const a of architectures)
    if (!DEB_ARCH.test(a) || a === 'all') problems.push(`apt.architectures: bad architecture "${a}"`);
  const byHashGenerations = apt.by_hash_generations ?? CONFIG_DEFAULTS.apt.by_hash_generations;
  if (!Number.isInteger(byHashGenerations) || byHashGenerations < 1)
    problems.push('apt.by_hash_generations must be a whole number of at least 1');
  if (apt.valid_until_days !== undefined && !(apt.valid_until_days > 0))
    problems.push('apt.valid_until_days must be a positive number');
  const suite = apt.suite ?? CONFIG_DEFAULTS.apt.suite;
  for (const [what, v] of [
    ['apt.suite', suite],
    ['apt.codename', apt.codename ?? suite],
    ...components.map((c) => ['apt.components', c] as const),
  ] as const) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(v)) problems.push(`${what}: "${v}" is not a valid name`);
  }
  const baseUrl = (flags.baseUrl ?? file.base_url ?? CONFIG_DEFAULTS.base_url).replace(/\/+$/, '');
  if (!/^(https?|file):\/\//.test(baseUrl))
    problems.push(`base_url "${baseUrl}" must start with http://, https:// or file://`);
  const retention: Partial<Record<Channel, RetentionPolicy>> = {};
  for (const ch of ['stable', 'dev'] as const) {
    const r = file.retention?.[ch];
    if (r) retention[ch] = resolveRetention(r, `retention.${ch}`, problems);
  }
  const generations = file.rollback?.generations ?? CONFIG_DEFAULTS.rollback.generations;
  if (!Number.isInteger(generations) || generations < 0)
    problems.push('rollback.generations must be a whole number of at least 0');
  if (problems.length) throw new ConfigError(problems);
  const origin = file.origin ?? project;
  return {
    project,
    baseUrl,
    origin,
    label: file.label ?? origin,
    description: file.description ?? `${origin} packages`,
    channel: channel as Channel,
    prefixes: {
      deb: `packages/deb${suffix}`,
      rpm: `packages/rpm${suffix}`,
      bin: `packages/bin${suffix}`,
      driver: 'driver',
      keys: 'keys',
    },
    apt: {
      suite,
      codename: apt.codename ?? suite,
      components,
      component,
      architectures,
      byHashGenerations,
      ...(apt.valid_until_days !== undefined ? { validUntilDays: apt.valid_until_days } : {}),
      pool: suite,
    },
    yum: {
      name: file.yum?.name ?? project,
      compression: file.yum?.compression ?? CONFIG_DEFAULTS.yum.compression,
    },
    retention,
    rollback: { generations },
  };
}

function resolveRetention(r: RetentionFile, where: string, problems: string[]): RetentionPolicy {
  const out: RetentionPolicy = { protect: [] };
  const take = (what: string, f: () => void) => {
    try {
      f();
    } catch (err) {
      problems.push(`${where}.${what}: ${(err as Error).message}`);
    }
  };
  if (r.keep !== undefined) take('keep', () => (out.keep = parseKeep(r.keep!)));
  if (r.max_size !== undefined) take('max_size', () => (out.maxSize = parseSize(r.max_size!)));
  if (r.older_than !== undefined) take('older_than', () => (out.olderThanMs = parseAge(r.older_than!)));
  for (const p of r.protect ?? []) take('protect', () => out.protect.push(parseProtect(p)));
  return out;
}
