import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkgpub } from '../support/cli.js';
import { type FakeCloudFront, startFakeCloudFront } from '../support/fake-cloudfront.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { samplesDir, scratchRoot } from '../support/paths.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { tree } from '../support/tree.js';

const DIST = 'E2EFAKEDIST';
const SECRET = 'fakeSecretKeyThatMustNeverBePrinted';
let cf: FakeCloudFront;
let key: TestKey;
let work: string;
let repo: string;

// Credentials for the SDK's standard chain; the fake checks only that requests are signed.
const env = () => ({
  PKGPUB_CLOUDFRONT_ENDPOINT: cf.endpoint,
  AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKE',
  AWS_SECRET_ACCESS_KEY: SECRET,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
});
const run = (args: string[]) => pkgpub(args, env());
const cdnFlags = ['--cloudfront-distribution', DIST];

/** What a publish wrote, from its --json plan: the in-place tiers, as paths. */
function inPlacePaths(json: string, prefix = '/'): string[] {
  const doc = JSON.parse(json) as { plan: { puts: { key: string; tier: string }[]; deletes: string[] } };
  const keys = [
    ...doc.plan.puts.filter((p) => ['index', 'pointer', 'listing'].includes(p.tier)).map((p) => p.key),
    ...doc.plan.deletes,
  ].filter((k) => !k.startsWith('.pkgpub-'));
  return [
    ...new Set([...keys.map((k) => prefix + k), ...(keys.includes('index.html') ? [prefix] : [])]),
  ].sort();
}

beforeAll(async () => {
  cf = await startFakeCloudFront();
  key = await makeTestKey();
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'cdn-'));
  repo = join(work, 'public');
});
afterAll(async () => {
  await cf?.stop();
});

describe('CloudFront invalidation after a publish to a folder', () => {
  // No channel history (rollback.generations 0): a removal's garbage is deleted in the same run
  // with --gc-grace 0, so its invalidation shows.
  const noHistory = () => join(work, 'pkgpub.yaml');
  beforeAll(() => writeFile(noHistory(), 'rollback:\n  generations: 0\n'));
  const publish = (...extra: string[]) =>
    run([
      'publish',
      samplesDir,
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
      '--config',
      noHistory(),
      ...cdnFlags,
      ...extra,
    ]);
  const removeRules = (...extra: string[]) =>
    run([
      'remove',
      'falco-rules',
      '--to',
      repo,
      '--signing-key',
      key.secretFile,
      '--config',
      noHistory(),
      ...extra,
    ]);

  it('sends one invalidation of exactly the paths changed in place', async () => {
    const res = await publish('--json');
    expect(res.code, res.err).toBe(0);
    expect(cf.requests).toHaveLength(1);
    const sent = cf.requests[0]!;
    expect(sent.distributionId).toBe(DIST);
    expect(sent.signed).toBe(true);
    expect(sent.callerReference).toMatch(/^pkgpub-/);
    expect(sent.quantity).toBe(sent.paths.length);
    expect([...sent.paths].sort()).toEqual(inPlacePaths(res.out));
    expect(sent.paths).toEqual(
      expect.arrayContaining([
        '/',
        '/index.html',
        '/packages/deb/dists/stable/InRelease',
        '/packages/deb/dists/stable/Release',
        '/packages/deb/dists/stable/main/binary-amd64/Packages',
        '/packages/rpm/repodata/repomd.xml',
        '/driver/site/index.json',
        '/driver/site/7.0.0+driver.json',
      ]),
    );
    // New immutable objects need no invalidation: nobody can have them cached.
    const doc = JSON.parse(res.out) as {
      plan: { puts: { key: string; tier: string }[] };
      cdn: { status: string; id: string; paths: string[] };
    };
    const immutable = doc.plan.puts.filter((p) => p.tier === 'blob' || p.tier === 'content-addressed');
    expect(immutable.map((p) => p.key)).toEqual(
      expect.arrayContaining([
        'packages/deb/stable/falco_0.39.0_amd64.deb',
        'packages/rpm/falco-0.39.0-1.x86_64.rpm',
      ]),
    );
    for (const p of immutable) expect(sent.paths).not.toContain(`/${p.key}`);
    expect(doc.cdn).toMatchObject({ status: 'sent', id: 'IFAKE1', paths: sent.paths });
    expect(res.out + res.err).not.toContain(SECRET);
  });

  it('sends nothing for a republish with nothing new', async () => {
    const before = await tree(repo);
    const res = await publish();
    expect(res.code, res.err).toBe(0);
    expect(await tree(repo)).toEqual(before);
    expect(cf.requests).toHaveLength(1);
    expect(res.out).not.toMatch(/invalidat/);
  });

  it('--dry-run prints the invalidation it would make and sends nothing', async () => {
    const res = await removeRules('--dry-run', ...cdnFlags);
    expect(res.code, res.err).toBe(0);
    expect(cf.requests).toHaveLength(1);
    expect(res.out).toMatch(new RegExp(`would invalidate \\d+ paths on CloudFront distribution ${DIST}:`));
    expect(res.out).toContain('INVALIDATE /packages/deb/dists/stable/InRelease');
    expect(res.out).toContain('INVALIDATE /packages/rpm/repodata/repomd.xml');
  });

  it('a remove invalidates the indexes it rewrote and the objects it deleted', async () => {
    const res = await removeRules('--gc-grace', '0', '--json', ...cdnFlags);
    expect(res.code, res.err).toBe(0);
    expect(cf.requests).toHaveLength(2);
    const sent = cf.requests[1]!;
    expect([...sent.paths].sort()).toEqual(inPlacePaths(res.out));
    expect(sent.paths).toContain('/packages/deb/dists/stable/InRelease');
    expect(sent.paths).toContain('/packages/deb/stable/falco-rules_3.2.0_all.deb');
    expect(sent.callerReference).not.toBe(cf.requests[0]!.callerReference);
  });

  for (const [mode, reason] of [
    ['error-500', /InternalError|500/],
    [
      'access-denied',
      /AccessDenied: User is not authorized to perform: cloudfront:CreateInvalidation \(HTTP 403\)/,
    ],
  ] as const) {
    it(`a failed invalidation (${mode}) is a warning; the publish stands and exits 0`, async () => {
      cf.mode = mode;
      const sentBefore = cf.requests.length;
      try {
        const res = await publish('--gc-grace', '0');
        expect(res.code, res.err).toBe(0);
        expect(res.out).toMatch(/published to folder .*apt \+1/);
        expect(res.err).toMatch(
          new RegExp(`warning: could not invalidate \\d+ paths on CloudFront distribution ${DIST}: `),
        );
        expect(res.err).toMatch(reason);
        expect(res.err).toMatch(/The publish itself is complete/);
        expect(res.out + res.err).not.toContain(SECRET);
        const attempts = cf.requests.slice(sentBefore);
        expect(attempts.length).toBeGreaterThanOrEqual(1);
        // Retries, if any, repeat the same request: still one invalidation.
        expect(new Set(attempts.map((a) => a.callerReference)).size).toBe(1);
      } finally {
        cf.mode = 'ok';
      }
      // Undo, so the next case has a change to publish again.
      const undo = await removeRules('--gc-grace', '0');
      expect(undo.code, undo.err).toBe(0);
    });
  }

  it('site rebuild invalidates the listings it rewrote', async () => {
    await rm(join(repo, 'packages/deb/index.html'));
    const n = cf.requests.length;
    const res = await run(['site', 'rebuild', '--to', repo, ...cdnFlags]);
    expect(res.code, res.err).toBe(0);
    expect(cf.requests).toHaveLength(n + 1);
    expect(cf.requests[n]!.paths).toContain('/packages/deb/index.html');
    expect(res.out).toMatch(new RegExp(`invalidated \\d+ paths? on CloudFront distribution ${DIST}`));
    const again = await run(['site', 'rebuild', '--to', repo, ...cdnFlags]);
    expect(again.code, again.err).toBe(0);
    expect(cf.requests).toHaveLength(n + 1);
  });

  it('drivers prune --apply invalidates the index and the deleted json, + left as is', async () => {
    const drivers = join(work, 'driver-8');
    await cp(join(samplesDir, 'driver', '7.0.0+driver'), join(drivers, 'driver', '8.0.0+driver'), {
      recursive: true,
    });
    const pub = await run(['publish', drivers, '--to', repo, '--signing-key', key.secretFile, ...cdnFlags]);
    expect(pub.code, pub.err).toBe(0);
    const n = cf.requests.length;
    const dry = await run(['drivers', 'prune', '--keep', '1', '--to', repo, ...cdnFlags]);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('INVALIDATE /driver/site/index.json');
    expect(cf.requests).toHaveLength(n);
    const res = await run(['drivers', 'prune', '--keep', '1', '--apply', '--to', repo, ...cdnFlags]);
    expect(res.code, res.err).toBe(0);
    expect(cf.requests).toHaveLength(n + 1);
    const paths = cf.requests[n]!.paths;
    expect(paths).toContain('/driver/site/index.json');
    expect(paths).toContain('/driver/site/7.0.0+driver.json');
    // The pruned drivers themselves stay (held by the driver tree's history): nothing to invalidate.
    expect(paths).not.toContain('/driver/7.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko');
  });
});

describe('CloudFront invalidation after a publish to S3', () => {
  let srv: S3rverHandle;
  beforeAll(async () => {
    srv = await startS3rver();
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('paths carry the s3:// prefix, unless paths_prefix replaces it', async () => {
    const s3env = {
      ...env(),
      AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
    };
    const s3 = ['--endpoint', srv.endpoint, '--region', 'us-east-1', '--force-path-style'];
    const n = cf.requests.length;
    const res = await pkgpub(
      [
        'publish',
        samplesDir,
        '--to',
        `s3://${srv.bucket}/dl/falco`,
        '--unsigned',
        ...s3,
        ...cdnFlags,
        '--json',
      ],
      s3env,
    );
    expect(res.code, res.err).toBe(0);
    expect(cf.requests).toHaveLength(n + 1);
    const sent = cf.requests[n]!;
    expect([...sent.paths].sort()).toEqual(inPlacePaths(res.out, '/dl/falco/'));
    expect(sent.paths).toContain('/dl/falco/packages/deb/dists/stable/Release');
    expect(sent.paths).toContain('/dl/falco/');

    // An origin whose origin path is the prefix: pkgpub.yaml says paths start at '/'.
    const config = join(work, 'pkgpub.yaml');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(config, `cdn:\n  cloudfront:\n    distribution_id: ${DIST}\n    paths_prefix: /\n`);
    const other = await pkgpub(
      ['publish', samplesDir, '--to', `s3://${srv.bucket}/other`, '--unsigned', ...s3, '--config', config],
      s3env,
    );
    expect(other.code, other.err).toBe(0);
    expect(cf.requests).toHaveLength(n + 2);
    expect(cf.requests[n + 1]!.paths).toContain('/packages/deb/dists/stable/Release');
    expect(cf.requests[n + 1]!.paths.every((p) => !p.startsWith('/other/'))).toBe(true);
  });
});
