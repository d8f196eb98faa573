export interface ConfigTextOptions {
  project: string;
  /** Absent: the line is written commented out (pkgpub then uses http://localhost:8080). */
  baseUrl?: string;
  /** Relative to the folder pkgpub runs in. */
  keyFile: string;
}

/**
 * The pkgpub.yaml `pkgpub init` writes: every setting a new project decides, commented, the rest
 * left to the defaults and mentioned. Values are JSON-quoted, which YAML reads as the same strings.
 */
export function configText(o: ConfigTextOptions): string {
  const q = JSON.stringify;
  const baseUrl = o.baseUrl
    ? `base_url: ${q(o.baseUrl)}`
    : '# base_url: "https://packages.example.com"   # set this: without it snippets point at http://localhost:8080';
  // The modeline docs/config.md gives: editors check the file against the package's JSON Schema.
  return `# yaml-language-server: $schema=./node_modules/pkgpub/schema/pkgpub.schema.json
# pkgpub settings (written by \`pkgpub init\`; every setting is optional). Reference: docs/config.md.
# Flags given on the command line win over what is here.

# Names the repositories, the key files (keys/${o.project}-packages.asc) and the snippets users copy.
project: ${q(o.project)}

# The public URL the published tree is served from (S3 website, CDN, GitHub Pages...). The apt
# source line, the .repo file and the site's links are made from it.
${baseUrl}

apt:
  # apt users write: deb [signed-by=...] <base_url>/packages/deb stable main
  suite: stable
  components: [main]
  # Architectures the Release file lists; arch "all" packages are listed under each of them.
  architectures: [amd64, arm64]

yum:
  # The repository id in /etc/yum.repos.d/${o.project}.repo (the dev channel's is ${o.project}-dev).
  name: ${q(o.project)}

signing:
  # The secret key for publishing from this machine. Keep it out of git (init wrote
  # .pkgpub/.gitignore for that). In CI the action's signing-key input (a secret) replaces it.
  key_file: ${q(o.keyFile)}

# What \`pkgpub prune\` removes when no flag says otherwise. The newest version of each package
# is always kept; the stable channel is pruned only with --allow-stable.
retention:
  dev:
    keep: 10
    older_than: 30d
  # stable:
  #   keep: 20

# Earlier generations of each channel \`pkgpub rollback\` can return to.
rollback:
  generations: 5
`;
}
