/**
 * What users write in pkgpub.yaml (all optional). Keys are snake_case as in the file; the
 * resolver turns this into ResolvedConfig with every default filled in.
 */
export interface ConfigFile {
  project?: string;
  base_url?: string;
  origin?: string;
  label?: string;
  description?: string;
  apt?: {
    suite?: string;
    codename?: string;
    components?: string[];
    architectures?: string[];
    by_hash_generations?: number;
    valid_until_days?: number;
  };
  yum?: {
    name?: string;
    compression?: 'gz' | 'zstd';
  };
  signing?: {
    key_file?: string;
  };
}

type FieldType =
  | 'string'
  | 'number'
  | 'string[]'
  | { oneOf: string[] }
  | { section: Record<string, FieldType> };

/** The accepted shape, used to report unknown keys and wrong types together with line numbers. */
export const CONFIG_SHAPE: Record<string, FieldType> = {
  project: 'string',
  base_url: 'string',
  origin: 'string',
  label: 'string',
  description: 'string',
  apt: {
    section: {
      suite: 'string',
      codename: 'string',
      components: 'string[]',
      architectures: 'string[]',
      by_hash_generations: 'number',
      valid_until_days: 'number',
    },
  },
  yum: { section: { name: 'string', compression: { oneOf: ['gz', 'zstd'] } } },
  signing: { section: { key_file: 'string' } },
};
export type { FieldType };
