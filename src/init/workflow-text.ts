/** The action the example workflow runs; pin it to a release tag or a commit. */
export const ACTION_REF = 'pkgpub/pkgpub@v1';

/**
 * The example .github/workflows/publish.yml `pkgpub init` writes: the dev channel on every push
 * to main, stable on tags v*, the key from a repository secret. Its `with:` names only inputs
 * action.yml declares (test/e2e/init.test.ts holds it to that).
 */
export function workflowText(o: { project: string; keyFile: string }): string {
  return `# Publishes this project's packages with pkgpub (written by \`pkgpub init\`).
# Pushes to main publish to the dev channel, tags v* to stable.
#
# Secrets to add (Settings > Secrets and variables > Actions):
#   PKGPUB_SIGNING_KEY         the armored secret key:  gh secret set PKGPUB_SIGNING_KEY < ${o.keyFile}
#   PKGPUB_SIGNING_PASSPHRASE  its passphrase, if it has one
name: publish packages

on:
  push:
    branches: [main]
    tags: ['v*']

permissions:
  contents: read
  # id-token: write   # for S3 through an OIDC role, below

# One publish at a time: runs of both channels write the same tree.
concurrency:
  group: pkgpub-publish
  cancel-in-progress: false

jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4

      # Build the packages here, into dist/ (.deb, .rpm, .tar.gz, driver folders).
      - name: Build packages
        run: make packages

      # Publishing to S3 with a role assumed through OIDC (no stored AWS keys): uncomment this
      # step and id-token: write above, and set to: and aws-region: below.
      # - uses: aws-actions/configure-aws-credentials@v4
      #   with:
      #     role-to-assume: arn:aws:iam::123456789012:role/${o.project}-pkgpub-publish
      #     aws-region: us-east-1

      - name: Publish
        id: pkgpub
        uses: ${ACTION_REF}
        with:
          artifacts: |
            dist/*.deb
            dist/*.rpm
            dist/*.tar.gz
          channel: \${{ startsWith(github.ref, 'refs/tags/v') && 'stable' || 'dev' }}
          # A folder starts empty on every run, so a publish there holds only this run's
          # packages. To keep older versions, publish to S3 (or restore the previous tree first).
          to: ./public
          # to: s3://your-bucket/${o.project}
          # aws-region: us-east-1
          # cloudfront-distribution: E2QWRUHAPOMQZL
          # verify: 'true'   # check what was written, through base_url
          signing-key: \${{ secrets.PKGPUB_SIGNING_KEY }}
          signing-passphrase: \${{ secrets.PKGPUB_SIGNING_PASSPHRASE }}

      - name: Show where users install from
        env:
          APT_SOURCE: \${{ steps.pkgpub.outputs.apt-source }}
          YUM_REPO_URL: \${{ steps.pkgpub.outputs.yum-repo-url }}
        run: |
          echo "apt: $APT_SOURCE"
          echo "dnf: $YUM_REPO_URL"
`;
}
