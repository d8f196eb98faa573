import { CONFIG_DEFAULTS } from './defaults.js';

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

/**
 * What a key accepts. parse-config checks these (with line numbers) and the JSON Schema states
 * the same, so an editor rejects exactly what pkgpub rejects when it reads the file. Checks that
 * need more than the value itself (a component named by --component, sizes and ages that must
 * parse) stay in resolve.ts and are described in words.
 */
export type FieldType =
  | 'string'
  | 'string-or-number'
  | 'number'
  | 'string[]'
  | { oneOf: readonly string[] }
  /** `pattern` is ECMAScript regex source, anchored, valid both for RegExp and JSON Schema. */
  | { pattern: string; expected: string }
  | { section: Shape };

type Value = string | number | readonly string[];

export interface Field {
  type: FieldType;
  /** The reference's text and the schema's description: what the key does, in a sentence or two. */
  description: string;
  /** The value resolve.ts applies when the key is absent (always taken from CONFIG_DEFAULTS). */
  default?: Value;
  /** When the default follows another setting or a flag, or there is none: what happens, in words. */
  defaultText?: string;
  /** A value a user might write; leaves only, the full example file is built from them. */
  example?: Value;
}

export type Shape = Record<string, Field>;

/** CloudFront distribution ids are upper-case letters and digits ("E2QWRUHAPOMQZL"). */
export const CLOUDFRONT_DISTRIBUTION_ID = /^[A-Z0-9]{1,64}$/;

function retentionShape(channel: 'stable' | 'dev', example: Required<RetentionFile>): Field {
  return {
    type: {
      section: {
        keep: {
          type: 'number',
          description:
            'Newest versions kept per package name and architecture; protected versions are not counted. A whole number, at least 1.',
          example: example.keep,
        },
        max_size: {
          type: 'string-or-number',
          description:
            "Size the channel's packages may take: the oldest versions go first until it fits. Bytes, or a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).",
          example: example.max_size,
        },
        older_than: {
          type: 'string',
          description:
            'Versions published longer ago than this are removed: a whole number and a unit, m (minutes), h (hours), d (days) or w (weeks).',
          example: example.older_than,
        },
        protect: {
          type: 'string[]',
          description: 'Versions never removed and not counted against `keep`, each as NAME=VERSION.',
          example: example.protect,
        },
      },
    },
    description: `Retention rules for the ${channel} channel. Without any rule, prune has nothing to go by and asks for a flag.`,
    defaultText: 'none: nothing is pruned without a flag',
  };
}

/** Every key of pkgpub.yaml: what parse-config accepts and what docs/config.md and the JSON Schema show. */
export const CONFIG_SHAPE: Shape = {
  project: {
    type: 'string',
    description:
      'Short name of the project, lower-case letters, digits and . _ + -. It names the key files under keys/, the apt .list/.sources files and, by default, the origin and the yum repository.',
    default: CONFIG_DEFAULTS.project,
    example: 'falco',
  },
  base_url: {
    type: 'string',
    description:
      "Public URL of the published tree's root, starting with http://, https:// or file://; used in install snippets, the .repo file and listings. A trailing slash is dropped. --base-url overrides it.",
    default: CONFIG_DEFAULTS.base_url,
    example: 'https://download.falco.org',
  },
  origin: {
    type: 'string',
    description: 'Origin field of the apt Release file.',
    defaultText: 'the value of `project`',
    example: 'falcosecurity',
  },
  label: {
    type: 'string',
    description: 'Label field of the apt Release file.',
    defaultText: 'the value of `origin`',
    example: 'Falco',
  },
  description: {
    type: 'string',
    description: 'Description field of the apt Release file.',
    defaultText: '"ORIGIN packages", with the value of `origin`',
    example: 'Falco packages',
  },
  apt: {
    type: {
      section: {
        suite: {
          type: 'string',
          description:
            'Suite of the Release file, and the pool folder the .deb files go to. Letters, digits and . _ -.',
          default: CONFIG_DEFAULTS.apt.suite,
          example: 'stable',
        },
        codename: {
          type: 'string',
          description: 'Codename of the Release file. Letters, digits and . _ -.',
          defaultText: 'the value of `apt.suite`',
          example: 'stable',
        },
        components: {
          type: 'string[]',
          description:
            'Components of the repository. New packages go to the first one unless --component names another.',
          default: CONFIG_DEFAULTS.apt.components,
          example: ['main'],
        },
        architectures: {
          type: 'string[]',
          description:
            'Debian architectures the repository has indexes for (lower-case letters, digits and -; not `all`).',
          default: CONFIG_DEFAULTS.apt.architectures,
          example: ['amd64', 'arm64'],
        },
        by_hash_generations: {
          type: 'number',
          description:
            'Generations of each index kept reachable under by-hash/, so a client part-way through an update still finds what the Release it read names. A whole number, at least 1.',
          default: CONFIG_DEFAULTS.apt.by_hash_generations,
          example: 3,
        },
        valid_until_days: {
          type: 'number',
          description:
            "Days after each publish that the Release file's Valid-Until falls; apt refuses the repository once it has passed, so publish again before then. A positive number.",
          defaultText: 'none: no Valid-Until',
          example: 30,
        },
      },
    },
    description: 'The apt repository of .deb packages.',
  },
  yum: {
    type: {
      section: {
        name: {
          type: 'string',
          description:
            'Repository id and file name of the generated .repo file (with -dev on the dev channel).',
          defaultText: 'the value of `project`',
          example: 'falco',
        },
        compression: {
          type: { oneOf: ['gz', 'zstd'] },
          description:
            'Compression of the repodata files: gz is read by every yum and dnf, zstd is smaller but needs a newer client.',
          default: CONFIG_DEFAULTS.yum.compression,
          example: 'gz',
        },
      },
    },
    description: 'The yum/dnf repository of .rpm packages.',
  },
  signing: {
    type: {
      section: {
        key_file: {
          type: 'string',
          description:
            'File holding the OpenPGP secret key, relative to the working folder. --signing-key overrides it; without either, PKGPUB_SIGNING_KEY holds the key itself. A passphrase comes from PKGPUB_SIGNING_PASSPHRASE.',
          defaultText: 'none: the key comes from --signing-key or PKGPUB_SIGNING_KEY',
          example: 'signing-key.asc',
        },
      },
    },
    description: 'The key that signs the repositories.',
  },
  retention: {
    type: {
      section: {
        stable: retentionShape('stable', {
          keep: 20,
          max_size: '200GB',
          older_than: '104w',
          protect: ['falco=0.38.1'],
        }),
        dev: retentionShape('dev', { keep: 10, max_size: '10GB', older_than: '90d', protect: [] }),
      },
    },
    description:
      'What `pkgpub prune` removes from each channel when no --keep, --max-size or --older-than flag is given.',
  },
  rollback: {
    type: {
      section: {
        generations: {
          type: 'number',
          description:
            'Earlier generations of each channel kept for `pkgpub rollback`, with every object they name; 0 keeps the current one only. A whole number.',
          default: CONFIG_DEFAULTS.rollback.generations,
          example: 5,
        },
      },
    },
    description: 'History kept for `pkgpub rollback`.',
  },
  cdn: {
    type: {
      section: {
        cloudfront: {
          type: {
            section: {
              distribution_id: {
                type: {
                  pattern: CLOUDFRONT_DISTRIBUTION_ID.source,
                  expected:
                    'a CloudFront distribution id (upper-case letters and digits, like E2QWRUHAPOMQZL)',
                },
                description:
                  'Distribution invalidated after each publish. --cloudfront-distribution overrides it.',
                defaultText: 'none: no invalidation',
                example: 'E2QWRUHAPOMQZL',
              },
              paths_prefix: {
                type: { pattern: '^/[^?#*]*$', expected: 'a path starting with "/" (no ?, # or *)' },
                description:
                  "What the distribution puts in front of an object's key in its URLs; set it when the origin has an origin path.",
                defaultText: '"/" followed by the s3:// prefix of --to ("/" for a folder)',
                example: '/',
              },
            },
          },
          description: 'A CloudFront distribution in front of the target.',
        },
      },
    },
    description: 'A CDN to invalidate after each publish.',
  },
};
