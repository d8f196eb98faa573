/**
 * One flag of the command table. `type`, `multiple` and `default` are what node:util parseArgs
 * reads; `value` and `help` are for `--help` and docs/cli.md. parseArgs ignores keys it does not
 * know, so a table's flags are handed to it as they are and the two cannot differ.
 */
export interface Flag {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** One letter, as parseArgs takes it: `-h` for `--help`. */
  short?: string;
  default?: string | boolean;
  /** What a string flag's value looks like in a synopsis: FILE, N, stable|dev. */
  value?: string;
  /** Shown without brackets in a synopsis; the command itself refuses a run without it. */
  required?: boolean;
  help: string;
}

export type Flags = Record<string, Flag>;

/** Where every command that reads or writes a tree finds it. */
export const TARGET_FLAGS = {
  to: {
    type: 'string',
    default: './public',
    value: 'DIR|s3://BUCKET/PREFIX',
    help: 'the tree: a folder or an S3 bucket and prefix',
  },
  config: {
    type: 'string',
    default: 'pkgpub.yaml',
    value: 'FILE',
    help: 'the project file (need not exist under its default name)',
  },
} as const satisfies Flags;

/** For --to s3://...; ignored for folders. */
export const S3_FLAGS = {
  endpoint: { type: 'string', value: 'URL', help: 'S3 endpoint of an S3-compatible server' },
  region: { type: 'string', value: 'REGION', help: 'S3 region' },
  'force-path-style': {
    type: 'boolean',
    default: false,
    help: 'S3 requests with the bucket in the path (most S3-compatible servers need it)',
  },
} as const satisfies Flags;

export const SIGNING_KEY_FLAG = {
  'signing-key': {
    type: 'string',
    value: 'FILE',
    help: 'armored secret key (else PKGPUB_SIGNING_KEY, else signing.key_file in the config)',
  },
} as const satisfies Flags;

export const SIGNING_FLAGS = {
  ...SIGNING_KEY_FLAG,
  unsigned: { type: 'boolean', default: false, help: 'write no signatures (no key needed)' },
} as const satisfies Flags;

export const NEW_KEY_FLAG = {
  'new-key': {
    type: 'string',
    value: 'FILE',
    help: "a key rotation's new key (else PKGPUB_NEW_SIGNING_KEY); needed while a rotation is under way",
  },
} as const satisfies Flags;

export const CDN_FLAGS = {
  'cloudfront-distribution': {
    type: 'string',
    value: 'ID',
    help: 'invalidate what changed in place on this CloudFront distribution (or cdn.cloudfront)',
  },
} as const satisfies Flags;

export const JSON_FLAG = {
  json: { type: 'boolean', default: false, help: 'print one JSON document instead of text' },
} as const satisfies Flags;

export const DRY_RUN_FLAG = {
  'dry-run': {
    type: 'boolean',
    default: false,
    help: 'print what would be written and deleted; write nothing',
  },
} as const satisfies Flags;

export const BASE_URL_FLAG = {
  'base-url': {
    type: 'string',
    value: 'URL',
    help: 'the URL the tree is served from (install snippets, .repo files; base_url in the config)',
  },
} as const satisfies Flags;

export const CONCURRENCY_FLAG = {
  concurrency: { type: 'string', value: 'N', help: 'writes at a time (default: 16 to a folder, 4 to S3)' },
} as const satisfies Flags;

export const GC_GRACE_FLAG = {
  'gc-grace': {
    type: 'string',
    default: '3600',
    value: 'SECONDS',
    help: 'how long an object nothing names any more stays before it is deleted (0: at once)',
  },
} as const satisfies Flags;

export const CHANNEL_FLAG = {
  channel: { type: 'string', default: 'stable', value: 'stable|dev', help: 'the channel to change' },
} as const satisfies Flags;

/**
 * The retention rules `prune` and `drivers prune` share: `versions` says what --keep counts,
 * `whole` what --max-size measures; --protect names NAME=VERSION for packages and a bare VERSION
 * for drivers.
 */
export function retentionFlags<V extends string>(versions: string, whole: string, protect: V) {
  return {
    keep: { type: 'string', value: 'N', help: `keep the newest N ${versions}` },
    'max-size': {
      type: 'string',
      value: 'SIZE',
      help: `remove the oldest versions while ${whole} takes more than SIZE (10GB)`,
    },
    'older-than': {
      type: 'string',
      value: 'AGE',
      help: 'remove versions published more than AGE ago (30d, 12h)',
    },
    protect: {
      type: 'string',
      multiple: true,
      value: protect,
      help: "never remove this version (adds to the config file's list)",
    },
  } as const satisfies Flags;
}
