import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../../src/changes/publish.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { makeDnfRoot } from '../support/dnf.js';
import { type FaultProxy, startFaultProxy, type Traffic } from '../support/fault-proxy.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { type S3rverHandle, startS3rver, storeOn } from '../support/s3rver.js';

const deb = (n: string) => join(fixturesDir, 'deb', n);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PACKAGE = /\.(deb|rpm|tar\.gz)$/;
/** A request on a package object itself (not a listing whose prefix names one). */
const onPackage = (t: Traffic) => PACKAGE.test(t.url.split('?')[0]!);

let key: TestKey;
let srv: S3rverHandle;
/** Every request pkgpub makes goes through this proxy, which counts the bytes each way. */
let proxy: FaultProxy;
let rpms: string[];

beforeAll(async () => {
  key = await makeTestKey();
  rpms = await buildRpms(await mkdtemp(join(scratchRoot, 'promote-s3-rpms-')), [
    { name: 'hello', version: '1.0', arch: 'x86_64', payload: 'hello 1.0' },
    { name: 'hello-data', version: '2.1', arch: 'noarch', payload: 'hello-data 2.1' },
  ]);
  srv = await startS3rver();
  proxy = await startFaultProxy(srv.endpoint, { failureRate: 0, seed: 1 });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await srv?.stop();
});

const env = () => ({
  AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
  AWS_REGION: 'us-east-1',
});

const promoteCli = (prefix: string, ...args: string[]) =>
  pkgpub(
    [
      'promote',
      ...args,
      '--to',
      `s3://${srv.bucket}/${prefix}`,
      '--endpoint',
      proxy.endpoint,
      '--force-path-style',
      '--signing-key',
      key.secretFile,
      '--json',
    ],
    env(),
  );

/** The requests of one command: those the proxy saw while `run` ran. */
async function trafficOf<T>(run: () => Promise<T>): Promise<{ result: T; traffic: Traffic[] }> {
  const start = proxy.traffic.length;
  const result = await run();
  return { result, traffic: proxy.traffic.slice(start) };
}

describe('pkgpub promote on s3rver', () => {
  it('copies the packages server-side: no package body passes through pkgpub; apt and dnf install the same bytes', async () => {
    const prefix = 'site';
    const store = storeOn(srv, prefix);
    const { signer } = await loadSigner({ keyFile: key.secretFile });
    const devInputs = [
      deb('falco_0.39.0_amd64.deb'),
      deb('falco_0.39.0_arm64.deb'),
      deb('docs-all_3.1-2_all.deb'),
      ...rpms,
      join(fixturesDir, 'bin', 'falco-0.39.0-x86_64.tar.gz'),
      join(fixturesDir, 'bin', 'falco-0.39.0-aarch64.tar.gz'),
    ];
    const dev = await publish({
      inputs: devInputs,
      store,
      cfg: resolveConfig({}, { channel: 'dev' }),
      signer,
    });
    expect(dev.changes.apt.added).toHaveLength(3);

    const { result: res, traffic } = await trafficOf(() =>
      promoteCli(prefix, 'falco', 'docs-all', 'hello', 'hello-data'),
    );
    expect(res.code, res.err).toBe(0);
    const out = JSON.parse(res.out);
    // 3 debs, 2 rpms, 2 tarballs: 7 packages, each with its .asc.
    expect(out.picked).toHaveLength(7);
    expect(out.applied.copied).toBe(14);

    const copies = traffic.filter((t) => t.method === 'PUT' && t.copySource !== undefined);
    const packageCopies = copies.filter(onPackage);
    expect(packageCopies).toHaveLength(7);
    for (const c of packageCopies) {
      expect(c.bytesUp).toBe(0);
      // The answer is a CopyObjectResult of a few hundred bytes, never the object.
      expect(c.bytesDown).toBeLessThan(1024);
      expect(decodeURIComponent(c.copySource!)).toMatch(/\/site\/packages\/(deb|rpm|bin)-dev\//);
    }
    // No package is read or written by pkgpub itself.
    const packageRequests = traffic.filter(onPackage);
    expect(packageRequests.filter((t) => t.method === 'GET')).toEqual([]);
    expect(packageRequests.filter((t) => t.method === 'PUT' && t.copySource === undefined)).toEqual([]);
    const bodyBytes = packageRequests.reduce((n, t) => n + t.bytesUp + t.bytesDown, 0);
    const packageBytes = out.plan.puts
      .filter((p: { key: string; copyFrom?: string }) => p.copyFrom && PACKAGE.test(p.key))
      .reduce((n: number, p: { size: number }) => n + p.size, 0);
    expect(packageBytes).toBeGreaterThan(300_000);
    // Only the copy requests' small XML answers: far less than one package.
    expect(bodyBytes).toBeLessThan(7 * 1024);
    const totalUp = traffic.reduce((n, t) => n + t.bytesUp, 0);
    const totalDown = traffic.reduce((n, t) => n + t.bytesDown, 0);
    const byMethod = new Map<string, number>();
    for (const t of traffic) byMethod.set(t.method, (byMethod.get(t.method) ?? 0) + 1);
    console.log(
      `promoting ${out.picked.length} packages on s3rver: ${traffic.length} requests ` +
        `(${[...byMethod].map(([m, n]) => `${m} ${n}`).join(', ')}; ${copies.length} of the PUTs CopyObject), ` +
        `${bodyBytes} bytes in requests naming a package (package bodies: ${packageBytes} bytes, all copied server-side); ` +
        `whole run ${totalUp} bytes up, ${totalDown} bytes down`,
    );

    // The stable objects are dev's bytes, and the copies kept pkgpub's sha256 metadata.
    for (const p of out.plan.puts.filter((x: { copyFrom?: string }) => x.copyFrom)) {
      const [a, b] = await Promise.all([store.get(p.key), store.get(p.copyFrom)]);
      expect(sha256(a!), p.key).toBe(sha256(b!));
      expect((await store.head(p.key))?.sha256, p.key).toBe(sha256(b!));
    }

    const url = `${srv.endpoint}/${srv.bucket}/${prefix}`;
    const apt = await makeAptRoot(`deb [signed-by=${key.publicFile}] ${url}/packages/deb stable main`);
    const up = await apt.apt('apt-get', ['update']);
    expect(up.code, up.out).toBe(0);
    expect(aptProblems(up.out)).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.39.0']);
    const dl = await apt.apt('apt-get', ['download', 'falco=0.39.0']);
    expect(dl.code, dl.out).toBe(0);
    expect(sha256(await readFile(join(apt.dir, 'dl', 'falco_0.39.0_amd64.deb')))).toBe(
      sha256(await readFile(deb('falco_0.39.0_amd64.deb'))),
    );

    const dnf = await makeDnfRoot({ baseurl: `${url}/packages/rpm`, gpgkey: key.publicFile });
    const install = await dnf.dnf(['install', 'hello.x86_64', 'hello-data'], 'x86_64');
    expect(install.code, install.out).toBe(0);
    expect(await readFile(join(dnf.dir, 'root/opt/hello/payload'), 'utf8')).toBe('hello 1.0\n');

    // Again: nothing to do, no write of any kind.
    const { result: again, traffic: quiet } = await trafficOf(() =>
      promoteCli(prefix, 'falco', 'docs-all', 'hello', 'hello-data'),
    );
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out).plan.puts).toEqual([]);
    expect(JSON.parse(again.out).applied).toMatchObject({ written: 0, deleted: 0, copied: 0 });
    // The lease is the only object a run on s3rver writes when it changes nothing.
    const puts = quiet.filter((t) => t.method === 'PUT');
    expect(puts.filter((t) => t.url.includes('.pkgpub-lock.json')).length).toBeGreaterThan(0);
    expect(
      puts.filter((t) => !t.url.includes('.pkgpub-lock.json') && !t.url.includes('.pkgpub-probe-')),
    ).toEqual([]);
  }, 60_000);
});
