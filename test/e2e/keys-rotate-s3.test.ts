import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRpmHeaders } from '../../src/artifacts/read-rpm.js';
import { signatureIssuers } from '../../src/signing/issuers.js';
import { pkgpub } from '../support/cli.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { samplesDir, scratchRoot } from '../support/paths.js';
import { type S3rverHandle, startS3rver, storeOn } from '../support/s3rver.js';

// The three phases against s3rver behind a proxy that enforces If-Match: every transaction of a
// rotation runs lock-free there, each state file it rewrites guarded by the version it read.

let srv: S3rverHandle;
let proxy: FaultProxy;
let oldKey: TestKey;
let newKey: TestKey;
let work: string;
const prefix = 'site';

beforeAll(async () => {
  [oldKey, newKey] = await Promise.all([makeTestKey(), makeTestKey()]);
  work = await mkdtemp(join(scratchRoot, 'keys-rotate-s3-'));
  srv = await startS3rver();
  proxy = await startFaultProxy(srv.endpoint, { failureRate: 0, seed: 1, conditional: true });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await srv?.stop();
  if (work) await rm(work, { recursive: true, force: true });
  for (const k of [oldKey, newKey]) if (k) await rm(k.dir, { recursive: true, force: true });
});

const store = () => storeOn(srv, prefix);

const cli = (args: string[]) =>
  pkgpub(
    [
      ...args,
      '--to',
      `s3://${srv.bucket}/${prefix}`,
      '--endpoint',
      proxy.endpoint,
      '--force-path-style',
      '--signing-key',
      oldKey.secretFile,
    ],
    {
      AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      PKGPUB_SIGNING_KEY: undefined,
      PKGPUB_NEW_SIGNING_KEY: newKey.privateArmored,
    },
  );

const issuers = async (key: string) =>
  signatureIssuers(new TextDecoder().decode((await store().get(key)) ?? new Uint8Array()));

async function rpmSigner(key: string): Promise<string | undefined> {
  const local = join(work, key.replaceAll('/', '_'));
  await writeFile(local, (await store().get(key))!);
  return (await readRpmHeaders(local)).signature.keyId;
}

describe('keys rotate on S3 (If-Match enforced)', () => {
  it('add, switch, retire: each phase as promised, each run again writes nothing', async () => {
    const fpr = (k: TestKey) => k.fingerprint.toLowerCase();
    expect((await cli(['publish', samplesDir])).code).toBe(0);
    const inRelease = 'packages/deb/dists/stable/InRelease';
    const rpm = 'packages/rpm/falco-0.39.0-1.x86_64.rpm';

    for (const phase of ['add', 'switch', 'retire'] as const) {
      const res = await cli(['keys', 'rotate', phase, '--json', '--gc-grace', '0']);
      expect(res.code, res.err).toBe(0);
      const again = await cli(['keys', 'rotate', phase, '--json']);
      expect(again.code, again.err).toBe(0);
      expect(JSON.parse(again.out).plan.puts, `${phase} run again`).toEqual([]);
      const want = { add: [oldKey, newKey], switch: [newKey, oldKey], retire: [newKey] }[phase];
      expect(await issuers(inRelease), phase).toEqual(want.map(fpr));
      expect(await rpmSigner(rpm), phase).toBe(fpr(phase === 'add' ? oldKey : newKey).slice(-16));
    }
    expect(await issuers(inRelease)).toEqual([fpr(newKey)]);
    expect(await issuers('packages/rpm/repodata/repomd.xml.asc')).toEqual([fpr(newKey)]);
    expect(await issuers('packages/bin/x86_64/SHA256SUMS.asc')).toEqual([fpr(newKey)]);
    expect(await issuers(`${rpm}.asc`)).toEqual([fpr(newKey)]);
    expect(await rpmSigner(rpm)).toBe(fpr(newKey).slice(-16));
    const state = JSON.parse(new TextDecoder().decode((await store().get('.pkgpub-keys.json'))!));
    expect(state.phase).toBe('retired');
  });
});
