import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { CopyObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CachingProxy, startCachingProxy } from '../support/caching-proxy.js';
import { pkgpub } from '../support/cli.js';
import { makeDnfRoot } from '../support/dnf.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';
import { describeWithTools, toolsMissing } from '../support/tools.js';

/**
 * A pointer and its signature in two files (repomd.xml and repomd.xml.asc) must never reach a
 * client from two different publishes. nginx, as a CDN edge honouring Cache-Control, sits in front
 * of s3rver; dnf with repo_gpgcheck=1 reads through it. With the max-age=60 pkgpub used to send,
 * an edge holding the older repomd.xml hands out the newer .asc and dnf fails; with no-cache it never does.
 */
let s3: S3rverHandle;
let proxy: CachingProxy;
let key: TestKey;
let work: string;
let rpms: string[];
let env: Record<string, string>;
const BUCKET = 'cdn';

async function publish(prefix: string, rpm: string) {
  const res = await pkgpub(
    [
      'publish',
      rpm,
      ...['--to', `s3://${BUCKET}/${prefix}`, '--endpoint', s3.endpoint, '--force-path-style'],
      ...['--signing-key', key.secretFile],
    ],
    env,
  );
  expect(res.code, res.err).toBe(0);
}

/** `pkgpub verify` of the site as the edge serves it, against its origin on s3rver. */
function verifyEdge(prefix: string) {
  return pkgpub(
    [
      'verify',
      `${proxy.url}${prefix}/`,
      ...['--origin', `s3://${BUCKET}/${prefix}`, '--endpoint', s3.endpoint, '--force-path-style'],
      ...['--key', key.publicFile],
    ],
    env,
  );
}

/** What an edge gives a client: the status nginx reports and the Cache-Control it passes on. */
async function viaEdge(path: string) {
  const res = await fetch(proxy.url + path);
  const body = await res.text();
  return { body, cache: res.headers.get('x-cache-status'), cacheControl: res.headers.get('cache-control') };
}

describeWithTools(
  'a CDN never splits a pointer from its signature',
  toolsMissing(['nginx', 'dnf', 'rpmbuild']),
  () => {
    beforeAll(async () => {
      work = await mkdtemp(join(scratchRoot, 'cdn-pairs-'));
      key = await makeTestKey();
      s3 = await startS3rver(BUCKET);
      env = {
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AWS_REGION: 'us-east-1',
      };
      proxy = await startCachingProxy(`${s3.endpoint}/${BUCKET}/`);
      rpms = await buildRpms(
        join(work, 'rpms'),
        [1, 2, 3, 4].map((i) => ({ name: `pair${i}`, version: '1.0', arch: 'noarch' })),
      );
    });
    afterAll(async () => {
      await proxy?.stop();
      await s3?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('with max-age=60 (the old headers) an edge serves an old repomd.xml with a new .asc and dnf fails', async () => {
      const client = new S3Client({
        endpoint: s3.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: s3.credentials,
      });
      // The headers pkgpub wrote before: the pair is cached for 60 s, each from its own first request.
      const oldHeaders = async () => {
        for (const k of ['old/packages/rpm/repodata/repomd.xml', 'old/packages/rpm/repodata/repomd.xml.asc'])
          await client.send(
            new CopyObjectCommand({
              Bucket: BUCKET,
              Key: k,
              CopySource: `${BUCKET}/${k}`,
              MetadataDirective: 'REPLACE',
              CacheControl: 'public, max-age=60',
              ContentType: 'application/xml',
            }),
          );
      };
      try {
        await publish('old', rpms[0]!);
        await oldHeaders();
        // One client asks for repomd.xml: the edge keeps it.
        expect((await viaEdge('old/packages/rpm/repodata/repomd.xml')).cacheControl).toBe(
          'public, max-age=60',
        );
        await publish('old', rpms[1]!);
        await oldHeaders();
        expect((await viaEdge('old/packages/rpm/repodata/repomd.xml')).cache).toBe('HIT');
        const dnf = await makeDnfRoot({ baseurl: `${proxy.url}old/packages/rpm`, gpgkey: key.publicFile });
        const res = await dnf.dnf(['makecache']);
        expect(res.code, res.out).not.toBe(0);
        expect(res.out).toMatch(/repomd\.xml GPG signature verification error: Bad GPG signature/);
        // verify, through the edge and against the origin, names the stale copy and the broken pair.
        const check = await verifyEdge('old');
        expect(check.code, check.out).toBe(1);
        expect(check.out).toMatch(
          /^error: packages\/rpm\/repodata\/repomd\.xml: cdn\.stale: the copy served is not the origin's \(served copy last modified /m,
        );
        expect(check.out).toMatch(
          /^error: packages\/rpm\/repodata\/repomd\.xml\.asc: yum\.repomd-signature: /m,
        );
      } finally {
        client.destroy();
      }
    });

    it('with no-cache the edge revalidates the pair, and dnf polling through publishes never meets a mismatch', async () => {
      await publish('new', rpms[0]!);
      const first = await viaEdge('new/packages/rpm/repodata/repomd.xml');
      expect(first.cacheControl).toBe('public, no-cache');
      await publish('new', rpms[1]!);
      // The edge did not answer from a copy: what it hands out is the origin's current file.
      const second = await viaEdge('new/packages/rpm/repodata/repomd.xml');
      expect(second.cache).not.toBe('HIT');
      expect(second.body).not.toBe(first.body);
      const dnf = await makeDnfRoot({ baseurl: `${proxy.url}new/packages/rpm`, gpgkey: key.publicFile });
      // The sequence that failed above: the edge met the older repomd.xml, then a publish landed.
      const after = await dnf.dnf(['makecache']);
      expect(after.code, after.out).toBe(0);
      let polls = 0;
      let publishing = true;
      const poller = (async () => {
        const failures: string[] = [];
        while (publishing || polls === 0) {
          // Other clients keep the edge busy with the pointer alone, as they would a CDN.
          await viaEdge('new/packages/rpm/repodata/repomd.xml');
          const res = await dnf.dnf(['makecache']);
          polls++;
          if (res.code !== 0) failures.push(res.out);
        }
        return failures;
      })();
      for (const rpm of rpms.slice(2)) await publish('new', rpm);
      publishing = false;
      expect(await poller).toEqual([]);
      expect(polls).toBeGreaterThan(0);
      const check = await verifyEdge('new');
      expect(check.code, check.out).toBe(0);
      expect(check.out).toMatch(/^cdn: \d+ pointers compared with .* \(0 stale\)/m);
      // --refresh: the last poll's metadata may be from before the last publish landed.
      const list = await dnf.dnf(['repoquery', '--refresh', '--quiet', '--queryformat', '%{name}']);
      expect(list.code, list.out).toBe(0);
      expect(
        list.out
          .split('\n')
          .filter((l) => l.startsWith('pair'))
          .sort(),
      ).toEqual(['pair1', 'pair2', 'pair3', 'pair4']);
    });
  },
);
