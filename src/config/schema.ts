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
  /** Per channel: what `pkgpub prune` removes when no flag says otherwise. */
  retention?: { stable?: RetentionFile; dev?: RetentionFile };
  rollback?: {
    /** Earlier generations of each channel kept for `pkgpub rollback` (with every object they name). */
    generations?: number;
  };
  cdn?: {
    cloudfront?: {
      distribution_id?: string;
      /** What the distribution puts in front of a key; default '/' + the s3:// prefix of --to. */
      paths_prefix?: string;
    };
  };
}

export interface RetentionFile {
  keep?: number;
  /** Bytes, or a number with a unit: 10GB, 500MiB. */
  max_size?: string | number;
  /** 90d, 12h, 2w, 30m. */
  older_than?: string;
  /** NAME=VERSION. */
  protect?: string[];
}

type FieldType =
  | 'string'
  | 'string-or-number'
  | 'number'
  | 'string[]'
  | { oneOf: string[] }
  | { pattern: RegExp; expected: string }
  | { section: Record<string, FieldType> };

/** CloudFront distribution ids are upper-case letters and digits ("E2QWRUHAPOMQZL"). */
export const CLOUDFRONT_DISTRIBUTION_ID = /^[A-Z0-9]{1,64}$/;

const RETENTION_SHAPE: Record<string, FieldType> = {
  keep: 'number',
  max_size: 'string-or-number',
  older_than: 'string',
  protect: 'string[]',
};

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
  retention: { section: { stable: { section: RETENTION_SHAPE }, dev: { section: RETENTION_SHAPE } } },
  rollback: { section: { generations: 'number' } },
  cdn: {
    section: {
      cloudfront: {
        section: {
          distribution_id: {
            pattern: CLOUDFRONT_DISTRIBUTION_ID,
            expected: 'a CloudFront distribution id (upper-case letters and digits, like E2QWRUHAPOMQZL)',
          },
          paths_prefix: { pattern: /^\/[^?#*]*$/, expected: 'a path starting with "/" (no ?, # or *)' },
        },
      },
    },
  },
};
export type { FieldType };
