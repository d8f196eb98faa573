import { copyFile, mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { publish } from '../../src/changes/publish.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { aptUpdatedFrom, aptVersions } from '../support/apt.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { pkgpubProcess } from '../support/cli.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { makeDnfRoot } from '../support/dnf.js';
import { fixturesDir, samplesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { type S3rverHandle, startS3rver, storeOn } from '../support/s3rver.js';
import { describeWithTools } from '../support/tools.js';
import { type SwiftHandle, startSwift, swiftMissing } from '../support/swift.js';

const deb = (n: string) => join(fixturesDir, 'deb', n);
const cfg = resolveConfig({});
let key: TestKey;
let signer: Signer;
let rpms: string[];

beforeAll(async () => {
  key = await makeTestKey();
  signer = (await loadSigner({ keyFile: key.secretFile })).signer;
  rpms = await buildRpms(await mkdtemp(join(scratchRoot, 's3-rpms-')), [
    { name: 'hello', version: '1.0', arch: 'x86_64', payload: 'hello 1.0' },
    { name: 'hello-data', version: '2.1', arch: 'noarch', payload: 'hello-data 2.1' },
  ]);
});

/** dnf, with gpgcheck and repo_gpgcheck on, installs the signed rpms over plain HTTP. */
async function dnfInstallsFrom(url: string) {
  const dnf = await makeDnfRoot({ baseurl: `${url}/packages/rpm`, gpgkey: key.publicFile });
  const res = await dnf.dnf(['install', 'hello.x86_64', 'hello-data'], 'x86_64');
  expect(res.code, res.out).toBe(0);
  expect(res.out).toMatch(/Complete!/);
  expect(await readFile(join(dnf.dir, 'root/opt/hello/payload'), 'utf8')).toBe('hello 1.0\n');
}

const aptFrom = (url: string) => aptUpdatedFrom(url, key.publicFile);

describe('publishing to s3rver', () => {
  let srv: S3rverHandle;
  beforeAll(async () => {
    srv = await startS3rver();
  });
  afterAll(async () => {
    await srv?.stop();
  });
  const publicUrl = (prefix: string) => `${srv.endpoint}/${srv.bucket}/${prefix}`;

  it('apt and dnf install from it over plain HTTP, and a republish with nothing new makes no PUT', async () => {
    const store = storeOn(srv, 'main');
    const inputs = [
      ...(await readdir(join(fixturesDir, 'deb'))).filter((f) => f.endsWith('.deb')).map(deb),
      ...rpms,
    ];
    const first = await publish({ inputs, store, cfg, signer });
    expect(first.applied!.written).toBeGreaterThan(20);
    const { apt, problems } = await aptFrom(publicUrl('main'));
    expect(problems).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toContain('0.39.0+git1-1');
    const dl = await apt.apt('apt-get', ['download', 'falco=0.39.0+git1-1']);
    expect(dl.code, dl.out).toBe(0);
    await dnfInstallsFrom(publicUrl('main'));
    const info = await store.head('packages/deb/dists/stable/InRelease');
    expect(info?.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = await publish({ inputs, store, cfg, signer });
    expect(again.plan.tiers).toEqual([]);
    expect(again.applied!.written).toBe(0);
  });

  it('the CLI publishes to s3:// with --endpoint and credentials from the environment', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      // Unset as on a user's machine (this test process's own S3 clients have set it): on Node 20
      // the SDK's notice about its future Node requirement must not reach the user.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '',
    };
    const args = [
      'publish',
      deb('falco_0.39.0_amd64.deb'),
      '--to',
      `s3://${srv.bucket}/cli`,
      '--endpoint',
      srv.endpoint,
    ];
    const res = await pkgpubProcess(
      [...args, '--force-path-style', '--signing-key', key.secretFile, '--json'],
      env,
    );
    expect(res.code, res.err).toBe(0);
    expect(JSON.parse(res.out).changes.apt.added).toEqual(['falco 0.39.0 amd64']);
    expect(res.out + res.err).not.toContain(srv.credentials.secretAccessKey);
    expect(res.err).not.toMatch(/Warning/);
    const { apt, problems } = await aptFrom(publicUrl('cli'));
    expect(problems).toEqual([]);
    expect(await aptVersions(apt, 'falco')).toEqual(['0.39.0']);
  });

  it('drivers prune and site rebuild work on s3:// through the CLI', async () => {
    const env = {
      AWS_ACCESS_KEY_ID: srv.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: srv.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
      PKGPUB_S3_ENDPOINT: srv.endpoint,
    };
    const to = `s3://${srv.bucket}/drv`;
    // Two driver versions, from the samples' driver file laid out the way CI builds them.
    const dir = await mkdtemp(join(scratchRoot, 's3-drivers-'));
    const sample = join(samplesDir, 'driver', '7.0.0+driver', 'x86_64');
    const file = (await readdir(sample)).find((f) => f.endsWith('.ko'))!;
    for (const v of ['7.0.0+driver', '8.0.0+driver']) {
      await mkdir(join(dir, v, 'x86_64'), { recursive: true });
      await copyFile(join(sample, file), join(dir, v, 'x86_64', file));
    }
    const pub = await pkgpubProcess(['publish', dir, '--to', to, '--signing-key', key.secretFile], env);
    expect(pub.code, pub.err).toBe(0);
    const store = storeOn(srv, 'drv');
    const keys = async () => {
      const out: string[] = [];
      for await (const o of store.list('')) out.push(o.key);
      return out;
    };
    const before = await keys();
    expect(before).toContain(`driver/7.0.0+driver/x86_64/${file}`);

    const sign = ['--signing-key', key.secretFile];
    const dry = await pkgpubProcess(['drivers', 'prune', '--keep', '1', '--to', to, '--json', ...sign], env);
    expect(dry.code, dry.err).toBe(0);
    expect(JSON.parse(dry.out).remove).toEqual(['7.0.0+driver']);
    expect(await keys()).toEqual(before);

    const doc7 = await store.get('driver/site/7.0.0+driver.json');
    const applied = await pkgpubProcess(
      ['drivers', 'prune', '--keep', '1', '--apply', '--to', to, ...sign],
      env,
    );
    expect(applied.code, applied.err).toBe(0);
    const pruned = await keys();
    expect(pruned).not.toContain('driver/site/7.0.0+driver.json');
    // The driver tree's history holds the pruned driver, and a copy of its version json, until trimmed.
    expect(pruned).toContain(`driver/7.0.0+driver/x86_64/${file}`);
    expect(pruned.filter((k) => k.startsWith('.pkgpub-history/drivers/'))).toHaveLength(1);
    expect(pruned).toContain(`driver/8.0.0+driver/x86_64/${file}`);
    expect(JSON.parse(new TextDecoder().decode(await store.get('driver/site/index.json')))).toEqual([
      '8.0.0+driver',
    ]);
    expect(new TextDecoder().decode(await store.get('driver/site/index.html'))).not.toContain('7.0.0');

    // So the prune can be rolled back, on S3 as on a folder: the same version json comes back.
    const back = await pkgpubProcess(['drivers', 'rollback', '--to', to, '--json', ...sign], env);
    expect(back.code, back.err).toBe(0);
    expect(JSON.parse(back.out).changes.drivers.added).toEqual([`7.0.0+driver/x86_64/${file}`]);
    expect(JSON.parse(new TextDecoder().decode(await store.get('driver/site/index.json')))).toEqual([
      '8.0.0+driver',
      '7.0.0+driver',
    ]);
    expect(await store.get('driver/site/7.0.0+driver.json')).toEqual(doc7);
    const after = await keys();

    // A lost listing page comes back with site rebuild; nothing else changes.
    await store.delete(['driver/8.0.0+driver/x86_64/index.html']);
    const rebuilt = await pkgpubProcess(['site', 'rebuild', '--to', to], env);
    expect(rebuilt.code, rebuilt.err).toBe(0);
    expect(rebuilt.out).toMatch(/rebuilt listings of \d+ folders/);
    const page = new TextDecoder().decode(await store.get('driver/8.0.0+driver/x86_64/index.html'));
    expect(page).toContain(file);
    expect((await keys()).sort()).toEqual([...after].sort());
  });

  // 20 rounds, five per test so that none comes near its timeout on a busy machine.
  it.each([0, 5, 10, 15])(
    'two publishers at once never lose each other’s packages (rounds %i+0..4 of 20)',
    async (first) => {
      for (let round = first; round < first + 5; round++) {
        const prefix = `race${round}`;
        const a = publish({
          inputs: [deb('falco_0.38.1_amd64.deb')],
          store: storeOn(srv, prefix),
          cfg,
          signer,
        });
        const b = publish({
          inputs: [deb('epochpkg_2.0-1_amd64.deb')],
          store: storeOn(srv, prefix),
          cfg,
          signer,
        });
        await Promise.all([a, b]);
        const packages = new TextDecoder().decode(
          await storeOn(srv, prefix).get('packages/deb/dists/stable/main/binary-amd64/Packages'),
        );
        expect(packages, `round ${round}`).toContain('Package: falco\n');
        expect(packages, `round ${round}`).toContain('Package: epochpkg\n');
      }
    },
  );

  it('completes correctly when 10% of requests fail with 503 or a reset', async () => {
    const proxy = await startFaultProxy(srv.endpoint, { failureRate: 0.1, seed: 7 });
    try {
      const store = storeOn(srv, 'faults', { endpoint: proxy.endpoint });
      const inputs = (await readdir(join(fixturesDir, 'deb'))).filter((f) => f.endsWith('.deb')).map(deb);
      await publish({ inputs, store, cfg, signer });
      expect(Object.values(proxy.injected).reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
      const { apt, problems } = await aptFrom(publicUrl('faults'));
      expect(problems).toEqual([]);
      expect((await aptVersions(apt, 'falco')).length).toBe(4);
    } finally {
      await proxy.stop();
    }
  });
});

describeWithTools('publishing to OpenStack Swift (s3api)', swiftMissing(), () => {
  let sw: SwiftHandle;
  beforeAll(async () => {
    sw = await startSwift();
  }, 120_000);
  afterAll(async () => {
    await sw?.stop();
  });
  it('apt and dnf install from it over plain HTTP', async () => {
    const store = storeOn(sw, 'swift');
    const inputs = [deb('falco_0.39.0_amd64.deb'), deb('docs-all_3.1-2_all.deb'), ...rpms];
    await publish({ inputs, store, cfg, signer });
    const { apt, problems } = await aptFrom(`${sw.publicBase}/${sw.bucket}/swift`);
    expect(problems).toEqual([]);
    expect(await aptVersions(apt, 'docs-all')).toEqual(['3.1-2']);
    const dl = await apt.apt('apt-get', ['download', 'falco=0.39.0']);
    expect(dl.code, dl.out).toBe(0);
    await dnfInstallsFrom(`${sw.publicBase}/${sw.bucket}/swift`);
  });
});
