import {
  BASE_URL_FLAG,
  CDN_FLAGS,
  CHANNEL_FLAG,
  CONCURRENCY_FLAG,
  DRY_RUN_FLAG,
  type Flags,
  GC_GRACE_FLAG,
  JSON_FLAG,
  NEW_KEY_FLAG,
  retentionFlags,
  S3_FLAGS,
  SIGNING_FLAGS,
  SIGNING_KEY_FLAG,
  TARGET_FLAGS,
} from './flags.js';

export interface CommandSpec {
  /** Positional arguments as a synopsis shows them; '' for none. */
  args: string;
  summary: string;
  /** More than a line; printed by `pkgpub COMMAND --help` and in docs/cli.md. */
  notes?: string;
  flags: Flags;
}

const SCAN_FLAGS = {
  'driver-version': {
    type: 'string',
    value: 'V',
    help: 'driver version of driver files that are not under <driver_version>/<arch>/ folders',
  },
  arch: { type: 'string', value: 'A', help: 'arch of driver files that are not under such folders' },
} as const satisfies Flags;

/** publish and remove share one parser: the flags are the same but for what only publish means. */
const CHANGE_FLAGS = {
  ...TARGET_FLAGS,
  ...CHANNEL_FLAG,
  ...SIGNING_FLAGS,
  ...NEW_KEY_FLAG,
  ...DRY_RUN_FLAG,
  force: {
    type: 'boolean',
    default: false,
    help: 'replace a published name/version/arch that has other bytes (refused otherwise)',
  },
  ...JSON_FLAG,
  ...BASE_URL_FLAG,
  component: { type: 'string', value: 'C', help: 'the apt component (component in the config, else main)' },
  ...CONCURRENCY_FLAG,
  ...SCAN_FLAGS,
  'sign-rpms': { type: 'boolean', default: false, help: 'sign rpms with the project key (the default)' },
  'no-sign-rpms': {
    type: 'boolean',
    default: false,
    help: 'publish rpms as given, without signing them (gpgcheck=0 in the .repo file)',
  },
  resign: { type: 'boolean', default: false, help: 'sign rpms another key signed (refused otherwise)' },
  ...GC_GRACE_FLAG,
  ...S3_FLAGS,
  hardlink: {
    type: 'boolean',
    default: false,
    help: 'folder targets: link input files into the tree instead of copying them',
  },
  verify: {
    type: 'boolean',
    default: false,
    help: 'end with pkgpub verify of what was written (through base_url when set); exit 1 on errors',
  },
  ...CDN_FLAGS,
} as const satisfies Flags;

const APPLY_FLAG = {
  apply: { type: 'boolean', default: false, help: 'make the changes (without it: a dry run)' },
} as const satisfies Flags;

const ROLLBACK_FLAGS = {
  ...TARGET_FLAGS,
  steps: { type: 'string', default: '1', value: 'K', help: 'go back K generations' },
  ...SIGNING_FLAGS,
  ...DRY_RUN_FLAG,
  ...JSON_FLAG,
  ...BASE_URL_FLAG,
  ...GC_GRACE_FLAG,
  ...CONCURRENCY_FLAG,
  ...S3_FLAGS,
  ...CDN_FLAGS,
} as const satisfies Flags;

const HISTORY_FLAGS = { ...TARGET_FLAGS, ...JSON_FLAG, ...S3_FLAGS } as const satisfies Flags;

const CHANNEL_OF_HISTORY = {
  channel: { type: 'string', value: 'stable|dev', help: 'the channel (stable when not given)' },
} as const satisfies Flags;

/**
 * Every command and subcommand, in the order `pkgpub help` lists them. A command's parser takes
 * exactly its `flags` (parseOptions), so adding a flag is adding it here.
 */
export const COMMANDS = {
  publish: {
    args: 'ARTIFACT_OR_DIR...',
    summary: 'publish debs, rpms, tarballs and drivers (files, or folders of them) into a channel',
    flags: {
      ...CHANGE_FLAGS,
      'allow-empty': {
        type: 'boolean',
        default: false,
        help: 'succeed when the inputs hold no artifacts (a publish of nothing fails otherwise)',
      },
    },
  },
  remove: {
    args: 'NAME[=VERSION]...',
    summary: "remove packages from a channel's apt and yum repositories",
    flags: CHANGE_FLAGS,
  },
  prune: {
    args: '',
    summary: "drop old versions of a channel's debs, rpms and tarballs by retention rules",
    notes:
      'The rules come from the flags or from retention.<channel> in the config. A dry run unless --apply; ' +
      'the stable channel only with --allow-stable.',
    flags: {
      ...retentionFlags('versions of each package', 'the channel', 'NAME=VERSION'),
      ...CHANNEL_FLAG,
      ...APPLY_FLAG,
      'allow-stable': { type: 'boolean', default: false, help: 'allow pruning the stable channel' },
      ...JSON_FLAG,
      ...TARGET_FLAGS,
      ...BASE_URL_FLAG,
      ...GC_GRACE_FLAG,
      ...SIGNING_FLAGS,
      'no-sign-rpms': {
        type: 'boolean',
        default: false,
        help: "the channel's rpms were published with --no-sign-rpms",
      },
      ...CONCURRENCY_FLAG,
      ...S3_FLAGS,
      ...CDN_FLAGS,
    },
  },
  'drivers prune': {
    args: '',
    summary: 'drop old driver versions by retention rules (a dry run unless --apply)',
    flags: {
      ...retentionFlags('driver versions', 'the driver tree', 'VERSION'),
      ...APPLY_FLAG,
      ...TARGET_FLAGS,
      ...BASE_URL_FLAG,
      ...JSON_FLAG,
      ...CONCURRENCY_FLAG,
      ...S3_FLAGS,
      ...SIGNING_FLAGS,
      ...CDN_FLAGS,
    },
  },
  'drivers rollback': {
    args: '',
    summary: 'put back the driver tree (index.json and version jsons) of K driver changes ago',
    notes:
      'The driver tree is shared by every channel: there is no --channel. Its indexes are signed when a key is given.',
    flags: ROLLBACK_FLAGS,
  },
  'drivers history': {
    args: '',
    summary: "the driver tree's generations drivers rollback can go back to",
    flags: HISTORY_FLAGS,
  },
  promote: {
    args: 'NAME[=VERSION]...',
    summary: 'copy published packages from one channel into the other, bytes unchanged',
    flags: {
      ...TARGET_FLAGS,
      'from-channel': { type: 'string', default: 'dev', value: 'CHANNEL', help: 'the channel to copy from' },
      'to-channel': { type: 'string', default: 'stable', value: 'CHANNEL', help: 'the channel to copy into' },
      ...SIGNING_FLAGS,
      'allow-prerelease': {
        type: 'boolean',
        default: false,
        help: 'promote prereleases (~rc1, -rc1, rpm release 0.rc1) too',
      },
      ...DRY_RUN_FLAG,
      ...JSON_FLAG,
      ...BASE_URL_FLAG,
      component: {
        type: 'string',
        value: 'C',
        help: 'the apt component (component in the config, else main)',
      },
      ...CONCURRENCY_FLAG,
      ...GC_GRACE_FLAG,
      ...S3_FLAGS,
      ...CDN_FLAGS,
    },
  },
  rollback: {
    args: '',
    summary: "put back a channel's apt, yum and tarball state of K changes ago as a new signed generation",
    flags: { ...CHANNEL_OF_HISTORY, ...ROLLBACK_FLAGS },
  },
  history: {
    args: '',
    summary: "a channel's generations rollback can go back to",
    flags: { ...CHANNEL_OF_HISTORY, ...HISTORY_FLAGS },
  },
  'site rebuild': {
    args: '',
    summary: 'render every folder listing again from one listing of the whole tree',
    notes:
      'Publishes keep listings up to date on their own: this is for a tree whose listings are missing or ' +
      'damaged, or after the site templates changed.',
    flags: {
      ...TARGET_FLAGS,
      ...BASE_URL_FLAG,
      fingerprint: {
        type: 'string',
        value: 'FPR',
        help: "the signing key's fingerprint for the pages that show it",
      },
      ...DRY_RUN_FLAG,
      ...CONCURRENCY_FLAG,
      ...S3_FLAGS,
      ...CDN_FLAGS,
    },
  },
  adopt: {
    args: '',
    summary: 'take over a tree other tools made, so that later publishes work on it',
    notes: `Takes over a tree other tools made (apt-ftparchive, createrepo_c, driver files without indexes) so
that later publishes work on it as on a tree pkgpub made. It reads indexes and listings, not packages:
  apt     Packages entries kept as they are; Packages{,.gz,.xz} and by-hash rewritten, Release signed
          with the signing key; other files under dists/<suite>/ (Packages.bz2, Contents-*, ...) garbage
  yum     package XML kept; repodata rewritten with pkgpub's record, repomd.xml.asc signed with the key;
          repodata files it no longer names (sqlite databases, ...) garbage. Rpms keep their signatures
  drivers driver/site/<ver>.json and index.json from a listing; files directly under driver/<ver>/ are
          x86_64. Without --hash their sha256 is left empty (a later publish of the same file compares
          it with the stored one). --hash reads EVERY driver without one: a full download of the tree
  tarballs a SHA256SUMS (+ .asc) for each packages/bin/<arch>/ folder that does not list all its
          tarballs: those tarballs ARE read, once, in full (always, --hash or not)
  listings every folder without a listing gets one
Garbage is deleted by a later run once it has been garbage for --gc-grace seconds (default 3600).
Run once per channel (--channel dev for packages/*-dev). Adopting an adopted tree changes nothing.
There is no unsigned adopt: the rewritten indexes are signed.`,
    flags: {
      ...TARGET_FLAGS,
      ...CHANNEL_FLAG,
      ...SIGNING_KEY_FLAG,
      hash: {
        type: 'boolean',
        default: false,
        help: 'read every driver that has no sha256 (downloads the driver tree)',
      },
      ...DRY_RUN_FLAG,
      ...JSON_FLAG,
      ...GC_GRACE_FLAG,
      ...BASE_URL_FLAG,
      ...CONCURRENCY_FLAG,
      ...S3_FLAGS,
      ...CDN_FLAGS,
    },
  },
  serve: {
    args: '[DIR]',
    summary: 'serve a published folder (default ./public) over HTTP until interrupted',
    flags: {
      port: { type: 'string', default: '8080', value: 'PORT', help: 'the port (0: any free one)' },
      host: { type: 'string', default: '127.0.0.1', value: 'HOST', help: 'the address to listen on' },
      quiet: { type: 'boolean', default: false, help: 'log no requests' },
    },
  },
  verify: {
    args: 'URL|DIR|s3://BUCKET/PREFIX',
    summary: "check a published site (any tool's) as apt, dnf, rpm and driver loaders read it",
    notes: 'Reads only. Exit 1 when it found errors.',
    flags: {
      key: {
        type: 'string',
        multiple: true,
        value: 'FILE',
        help: "trust only this public key (else the site's own keys/*.asc)",
      },
      deep: {
        type: 'boolean',
        default: false,
        help: 'read every package and check its hashes and signature',
      },
      origin: {
        type: 'string',
        value: 'DIR|s3://BUCKET/PREFIX',
        help: "compare the pointers the URL serves with the origin's bytes (stale CDN copies)",
      },
      ...JSON_FLAG,
      concurrency: { type: 'string', default: '16', value: 'N', help: 'requests at a time' },
      ...S3_FLAGS,
    },
  },
  'keys generate': {
    args: '',
    summary: 'make a signing key: a secret key file (mode 600) and its public key',
    notes: 'The passphrase comes from PKGPUB_SIGNING_PASSPHRASE (none when it is not set).',
    flags: {
      name: { type: 'string', required: true, value: 'NAME', help: "the key's user name" },
      email: { type: 'string', required: true, value: 'EMAIL', help: "the key's email" },
      type: { type: 'string', default: 'ed25519', value: 'ed25519|rsa4096', help: 'the key type' },
      out: { type: 'string', default: '.', value: 'DIR', help: 'where to write the two key files' },
      'expires-days': {
        type: 'string',
        default: '1095',
        value: 'N',
        help: 'the key expires N days from now (0: never)',
      },
      project: {
        type: 'string',
        default: 'pkgpub',
        value: 'P',
        help: 'the file names: P-signing-key.asc and P-public-key.asc',
      },
    },
  },
  'keys check': {
    args: '[KEY_FILE]',
    summary: "the signing key and the published keys by publish's rules",
    notes: 'Exit 1 on an error, 0 with warnings only.',
    flags: {
      ...SIGNING_KEY_FLAG,
      to: {
        type: 'string',
        value: 'DIR|s3://BUCKET/PREFIX',
        help: 'also check the keys published in this tree',
      },
      'warn-days': {
        type: 'string',
        default: '60',
        value: 'N',
        help: 'warn when a key expires within N days (0: never)',
      },
      ...JSON_FLAG,
      config: TARGET_FLAGS.config,
      ...S3_FLAGS,
    },
  },
  'keys extend': {
    args: '',
    summary: 're-certify the signing key to expire N days from now and publish it (same fingerprint)',
    notes:
      'The re-certified secret key is written only to --out. Users who saved the old public key must fetch ' +
      'it again before its old expiry.',
    flags: {
      days: { type: 'string', required: true, value: 'N', help: 'the new expiry, in days from now' },
      out: {
        type: 'string',
        required: true,
        value: 'FILE',
        help: 'where the re-certified secret key goes (not needed with --dry-run)',
      },
      force: { type: 'boolean', default: false, help: 'overwrite --out when it exists' },
      ...SIGNING_KEY_FLAG,
      ...TARGET_FLAGS,
      ...BASE_URL_FLAG,
      ...DRY_RUN_FLAG,
      ...JSON_FLAG,
      ...S3_FLAGS,
      ...CDN_FLAGS,
    },
  },
  'keys rotate': {
    args: 'add|switch|retire',
    summary: 'replace the signing key in three steps, over every channel of the tree',
    notes: `  add     publish the new key beside the current one: keys/<project>-packages.asc holds both, both sign
          InRelease and Release.gpg, .repo files list both keys (needs both keys)
  switch  sign every rpm, .asc, repomd.xml.asc and SHA256SUMS.asc with the new key (apt's Release still
          by both); resumable: what the new key signed already is skipped (needs both keys)
  retire  the old key leaves keys/<project>-packages.asc and the signatures; --revocation FILE
          publishes its revocation certificate with its key file (needs the new key)
Keys: current --signing-key FILE or PKGPUB_SIGNING_KEY (+ PKGPUB_SIGNING_PASSPHRASE); new --new-key FILE
or PKGPUB_NEW_SIGNING_KEY (+ PKGPUB_NEW_SIGNING_PASSPHRASE).`,
    flags: {
      ...TARGET_FLAGS,
      ...SIGNING_KEY_FLAG,
      ...NEW_KEY_FLAG,
      revocation: {
        type: 'string',
        value: 'FILE',
        help: "retire: publish the old key's revocation certificate",
      },
      ...DRY_RUN_FLAG,
      ...JSON_FLAG,
      ...BASE_URL_FLAG,
      ...GC_GRACE_FLAG,
      ...CONCURRENCY_FLAG,
      ...S3_FLAGS,
      ...CDN_FLAGS,
    },
  },
  init: {
    args: '',
    summary: 'start a project: a commented pkgpub.yaml, a signing key pair and an example publish workflow',
    notes:
      'The secret key goes to .pkgpub/signing-key.asc (mode 600, in a folder git ignores), never to the ' +
      'output; its passphrase comes from PKGPUB_SIGNING_PASSPHRASE. Nothing that exists is replaced ' +
      'without --force.',
    flags: {
      project: {
        type: 'string',
        value: 'NAME',
        help: "the project's name (default: the folder's name)",
      },
      ...BASE_URL_FLAG,
      dir: { type: 'string', default: '.', value: 'DIR', help: 'the project folder to write into' },
      email: { type: 'string', value: 'EMAIL', help: "the signing key's email" },
      force: { type: 'boolean', default: false, help: 'replace files that exist' },
    },
  },
  inspect: {
    args: 'FILE_OR_DIR...',
    summary: 'show what pkgpub reads from each artifact',
    flags: { ...JSON_FLAG, ...SCAN_FLAGS },
  },
  help: {
    args: '[COMMAND]',
    summary: 'this overview, or one command with all its flags',
    flags: {},
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** The node:util parseArgs `options` of a command: its table row's flags, nothing else. */
export function parseOptions<N extends CommandName>(name: N): (typeof COMMANDS)[N]['flags'] {
  return COMMANDS[name].flags;
}

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

export interface Note {
  title: string;
  text: string;
  /** The commands whose --help repeats it; every note is in the overview and docs/cli.md. */
  commands: (name: CommandName, spec: CommandSpec) => boolean;
}

const named =
  (...names: CommandName[]) =>
  (name: CommandName) =>
    names.includes(name);
const withFlag = (flag: string) => (_: CommandName, spec: CommandSpec) => Object.hasOwn(spec.flags, flag);

export const NOTES: readonly Note[] = [
  {
    title: 'Retention',
    text:
      'SIZE is bytes or a number with B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (10GB); AGE is a whole ' +
      'number with m, h, d or w (30d, 12h). The newest version of each package and protected versions always stay.',
    commands: named('prune', 'drivers prune'),
  },
  {
    title: 'CDN',
    text:
      '--cloudfront-distribution ID (or cdn.cloudfront in pkgpub.yaml) invalidates what publish, remove, ' +
      'promote, prune --apply, drivers prune --apply and site rebuild change in place; PKGPUB_CLOUDFRONT_ENDPOINT ' +
      'overrides the endpoint.',
    commands: withFlag('cloudfront-distribution'),
  },
  {
    title: 'promote',
    text:
      'Both channels are in the tree --to names. Without =VERSION the newest the source channel ' +
      'holds is taken; prereleases (~rc1, -rc1, rpm release 0.rc1) need --allow-prerelease. Packages, their ' +
      '.asc and tarballs are copied inside the store (S3: CopyObject), never rebuilt or re-signed; the ' +
      "target's indexes are merged and signed. A version the target holds with other bytes is refused.",
    commands: named('promote'),
  },
  {
    title: '--hardlink',
    text:
      'Folder targets: link input files into the tree instead of copying them (same file system; ' +
      "copies elsewhere). The published files then share the inputs' bytes: never rewrite an input in place.",
    commands: named('publish'),
  },
  {
    title: 'History',
    text:
      "publish, remove and rollback keep each channel's last N generations (rollback.generations in " +
      'pkgpub.yaml, default 5) and every object they name; what only older generations named is deleted after ' +
      '--gc-grace once it falls out of the history. The driver tree, shared by every channel, keeps its own ' +
      '(publishes of drivers, drivers prune, drivers rollback): see drivers history.',
    commands: named('publish', 'remove', 'rollback', 'history', 'drivers rollback', 'drivers history'),
  },
  {
    title: 'Signing key',
    text: '--signing-key FILE or PKGPUB_SIGNING_KEY (armored); passphrase: PKGPUB_SIGNING_PASSPHRASE.',
    commands: withFlag('signing-key'),
  },
  {
    title: 'Exit codes',
    text: '0 done, 1 failed, 2 bad usage or config.',
    commands: () => false,
  },
];

/** Flags only the bare `pkgpub` takes (main.ts handles them before any command). */
export const GLOBAL_FLAGS = {
  help: { type: 'boolean', short: 'h', help: 'this overview; after a command: that command and its flags' },
  version: { type: 'boolean', short: 'V', help: "print pkgpub's version" },
} as const satisfies Flags;
