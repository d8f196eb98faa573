/**
 * The fixed defaults of pkgpub.yaml. The resolver applies them and the shape table shows them,
 * so the reference and the JSON Schema cannot drift from what a publish does. Defaults that
 * follow another setting (codename, origin, label...) are computed in resolve.ts and described
 * in the shape table.
 */
export const CONFIG_DEFAULTS = {
  project: 'falco',
  base_url: 'http://localhost:8080',
  apt: {
    suite: 'stable',
    components: ['main'],
    architectures: ['amd64', 'arm64'],
    by_hash_generations: 3,
  },
  yum: { compression: 'gz' },
  rollback: { generations: 5 },
} as const;
