import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Store } from '../../src/storage/s3-store.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir } from '../support/paths.js';
import { type S3rverHandle, startS3rver, storeOn } from '../support/s3rver.js';
import { tree } from '../support/tree.js';

const foreign = join(fixturesDir, 'foreign', 'tree');
let srv: S3rverHandle;
let key: TestKey;
let store: S3Store;
let env: Record<string, string>;

beforeAll(async () => {
  key = await makeTestKey();
  srv = await startS3rver();
  store = storeOn(srv, 'old');
  // The old tree, uploaded as another tool would have: no sha256 metadata on any object.
  for (const rel of (await tree(foreign)).keys())
    await store.put(rel, { bytes: await readFile(join(foreign, rel)) });
  env = {
    AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
});
afterAll(async () => {
  await srv?.stop();
});

const adoptArgs = () => [
  'adopt',
  '--to',
  `s3://${srv.bucket}/old`,
  '--endpoint',
  srv.endpoint,
  '--force-path-style',
  '--signing-key',
  key.secretFile,
  '--base-url',
  `${srv.endpoint}/${srv.bucket}/old`,
  '--json',
];

describe('pkgpub adopt on s3rver', () => {
  it('takes the bucket over through the CLI; apt reads it with pkgpub key; a second adopt writes nothing', async () => {
    const res = await pkgpub(adoptArgs(), env);
    expect(res.code, res.err).toBe(0);
    const first = JSON.parse(res.out) as { plan: { puts: { key: string }[] }; report: { retired: string[] } };
    expect(first.report.retired).toContain('packages/deb/dists/stable/main/binary-amd64/Packages.bz2');
    expect(first.plan.puts.map((p) => p.key)).toContain('driver/site/2.0.0+driver.json');
    const versions = JSON.parse(
      new TextDecoder().decode(await store.get('driver/site/index.json')),
    ) as string[];
    expect(versions).toHaveLength(3);
    const doc = JSON.parse(new TextDecoder().decode(await store.get('driver/site/2.0.0+driver.json'))) as {
      drivers: { name: string; download: string }[];
    };
    expect(doc.drivers.map((d) => d.name).sort()).toEqual([
      'falco_centos_4.18.0-513.5.1.el8_9.x86_64_1.ko',
      'falco_debian_5.10.0-8-amd64_1.ko',
      'falco_debian_5.10.0-9-amd64_1.ko',
    ]);
    expect(await store.head('packages/bin/x86_64/SHA256SUMS')).toBeDefined();
    expect(await store.head('listing.json')).toBeDefined();

    const apt = await makeAptRoot(
      `deb [signed-by=${key.publicFile}] ${srv.endpoint}/${srv.bucket}/old/packages/deb stable main`,
    );
    const up = await apt.apt('apt-get', ['update']);
    expect(up.code, up.out).toBe(0);
    expect(aptProblems(up.out)).toEqual([]);
    expect((await aptVersions(apt, 'falco')).sort()).toEqual(['0.38.2', '0.39.0']);

    const again = await pkgpub(adoptArgs(), env);
    expect(again.code, again.err).toBe(0);
    const second = JSON.parse(again.out) as { plan: { puts: unknown[]; deletes: unknown[] } };
    expect(second.plan.puts).toEqual([]);
    expect(second.plan.deletes).toEqual([]);
  });
});
