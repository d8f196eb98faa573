import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killStrayProcesses, runCli, secs } from '../support/cli-process.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

// A package already published with other bytes is a conflict with the content, not with another
// publisher: re-reading the target cannot change the answer, so on an endpoint that compares and
// swaps (s3rver behind the proxy enforcing If-Match / If-None-Match) the publish must fail at once,
// in one attempt, without reading its inputs or the target's state again.

const run = promisify(execFile);
const PREFIX = 'conflict';
let scratch: string;
let s3: S3rverHandle;
let proxy: FaultProxy;

beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-conflict-'));
  s3 = await startS3rver();
  proxy = await startFaultProxy(s3.endpoint, { failureRate: 0, seed: 1, conditional: true });
});
afterEach(async () => {
  await killStrayProcesses();
});
afterAll(async () => {
  await killStrayProcesses();
  await proxy?.stop();
  await s3?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** falco 0.39.0 amd64 again, built with the real dpkg-deb, with other contents than the fixture. */
async function otherFalcoDeb(): Promise<string> {
  const root = join(scratch, 'pkgroot');
  mkdirSync(join(root, 'DEBIAN'), { recursive: true });
  mkdirSync(join(root, 'usr', 'share', 'doc', 'falco'), { recursive: true });
  writeFileSync(
    join(root, 'DEBIAN', 'control'),
    'Package: falco\nVersion: 0.39.0\nArchitecture: amd64\nMaintainer: Someone Else <else@example.org>\n' +
      'Description: falco rebuilt with other contents\n',
  );
  writeFileSync(join(root, 'usr', 'share', 'doc', 'falco', 'README'), 'a different build of falco 0.39.0\n');
  const out = join(mkdtempSync(join(scratch, 'other-')), 'falco_0.39.0_amd64.deb');
  await run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out]);
  return out;
}

/** Every object under the prefix with its ETag, the pkgpub probes left out. */
async function snapshot(): Promise<Map<string, string>> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: s3.credentials,
  });
  const out = new Map<string, string>();
  let token: string | undefined;
  do {
    const r = await client.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}/`, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? [])
      if (!o.Key!.includes('/.pkgpub-probe')) out.set(o.Key!, `${o.ETag} ${o.Size}`);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  client.destroy();
  return out;
}

describe('a content conflict on an endpoint that compares and swaps', () => {
  it('fails at once: exit 1, "already published with other bytes … --force", one attempt, inputs read once', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    };
    const to = ['--to', `s3://${s3.bucket}/${PREFIX}`, '--endpoint', proxy.endpoint, '--force-path-style'];
    const original = join(fixturesDir, 'deb', 'falco_0.39.0_amd64.deb');
    const other = await otherFalcoDeb();
    expect((await readFile(other)).equals(await readFile(original))).toBe(false);

    const first = await runCli(['publish', original, ...to, '--unsigned'], { env, timeoutMs: 60_000 });
    expect(first.code, first.err).toBe(0);
    const before = await snapshot();
    expect([...before.keys()]).toContain(`${PREFIX}/packages/deb/dists/stable/Release`);

    const mark = proxy.requests.length;
    const second = await runCli(['publish', other, ...to, '--unsigned'], { env, timeoutMs: 60_000 });
    const requests = proxy.requests.slice(mark);
    // Each attempt reads the apt pointer (InRelease, absent here as the repo is unsigned, so then
    // Release) and what it names; a second attempt reads them all again.
    // (The lock object and the capability probe are bookkeeping, not state.)
    const gets = requests
      .filter((r) => r.startsWith('GET ') && !/\/\.pkgpub-(lock|probe)/.test(r))
      .map((r) => r.slice(4).replace(/[?&]x-id=[A-Za-z]+/, ''));
    const pointer = `/${s3.bucket}/${PREFIX}/packages/deb/dists/stable/InRelease`;
    const stateReads = gets.filter((g) => g === pointer);
    const readTwice = [...new Set(gets.filter((g, i) => gets.indexOf(g) !== i))];
    const readLines = second.err.split('\n').filter((l) => l.startsWith('read   '));
    const retries = second.err.split('\n').filter((l) => /re-reading the target/.test(l));
    console.log(
      `content conflict: exit ${second.code} after ${secs(second.ms)} s; ${readLines.length} "read" line(s), ` +
        `${retries.length} retry line(s), ${stateReads.length} GET(s) of InRelease, ${requests.length} requests in all, ` +
        `read more than once: ${JSON.stringify(readTwice)}\n` +
        `stderr:\n${second.err}`,
    );

    expect(second.timedOut).toBe(false);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(/falco 0\.39\.0 amd64 is already published with other bytes/);
    expect(second.err).toMatch(/--force/);
    // One attempt: no retry line, the target's state read once, the input read once.
    expect(retries).toEqual([]);
    expect(stateReads).toHaveLength(1);
    expect(readTwice).toEqual([]);
    expect(readLines).toHaveLength(1);
    expect(readLines[0]).toContain(other);
    // Nothing changed: the tree is exactly as the first publish left it.
    expect(await snapshot()).toEqual(before);
    // Quickly: a single attempt is one CLI start, a handful of requests and one read of a small deb.
    expect(second.ms).toBeLessThan(15_000);
  }, 120_000);
});
