import { execFileSync } from 'node:child_process';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { createStaticServer } from '../../src/serve/static-server.js';
import { FsStore } from '../../src/storage/fs-store.js';
import type { Finding } from '../../src/verify/findings.js';
import { storeSource } from '../../src/verify/site-source.js';
import { verifySite } from '../../src/verify/verify.js';
import { pkgpub, pkgpubProcess } from '../support/cli.js';
import { type GpgHome, makeGpgHome } from '../support/gpg.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, samplesDir, scratchRoot } from '../support/paths.js';
import { startS3rver } from '../support/s3rver.js';
import { describeWithTools, itWithTools, toolsMissing } from '../support/tools.js';

/**
 * `pkgpub verify` against sites made by pkgpub and by the reference tools, and against each kind
 * of damage, made with tools other than pkgpub (sed, rm, truncate, rpmsign, createrepo_c, gpg).
 */
let work: string;
let base: string;
let key: TestKey;
let server: ReturnType<typeof createStaticServer>;
let url: string;
let gpg: GpgHome;

const rules = (fs: Finding[], level = 'error') =>
  fs.filter((f) => f.level === level).map((f) => `${f.rule} ${f.file}`);

async function verifyCopy(
  damage: (dir: string) => Promise<void> | void,
  opts: { deep?: boolean; now?: Date; concurrency?: number } = {},
) {
  const dir = await mkdtemp(join(work, 'damaged-'));
  await cp(base, dir, { recursive: true });
  await damage(dir);
  const report = await verifySite({
    source: storeSource(new FsStore(dir)),
    pinnedKeys: [{ file: key.publicFile, bytes: await readFile(key.publicFile) }],
    ...opts,
  });
  await rm(dir, { recursive: true, force: true });
  return report;
}

const tools = toolsMissing(['gpg', 'rpmsign', 'createrepo_c']);

describeWithTools('pkgpub verify', tools, () => {
  beforeAll(async () => {
    work = await mkdtemp(join(scratchRoot, 'verify-'));
    base = join(work, 'site');
    key = await makeTestKey();
    // The server first: the drivers' download URLs name it, so the loader's URLs are served here.
    server = createStaticServer(base);
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await pkgpub([
      'publish',
      samplesDir,
      '--to',
      base,
      '--base-url',
      url,
      '--signing-key',
      key.secretFile,
    ]);
    expect(res.code, res.err).toBe(0);
    gpg = makeGpgHome();
  });
  afterAll(async () => {
    gpg?.cleanup();
    await new Promise((res) => server?.close(res));
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a pkgpub site verifies clean over a folder and over pkgpub serve, deep and not', async () => {
    const folder = await pkgpub(['verify', base, '--key', key.publicFile, '--deep']);
    expect(folder.code, folder.out).toBe(0);
    expect(folder.out).toMatch(/^trust: pinned: /m);
    expect(folder.out).toMatch(
      /^apt: packages\/deb\/dists\/stable\/: 6 index files \(2 Packages\), 2 packages read: 0 errors/m,
    );
    expect(folder.out).toMatch(/^yum: packages\/rpm\/: \d+ repodata files, 2 packages read: 0 errors/m);
    expect(folder.out).toMatch(/^tarballs: packages\/bin\/x86_64\/: 1 tarballs read: 0 errors/m);
    expect(folder.out).toMatch(/^drivers: driver\/: 1 driver versions, 2 drivers read: 0 errors/m);
    expect(folder.out).toMatch(/^listings: \d+ listings compared with the files \(0 out of date\)/m);
    // The driver indexes are signed too: no warning about them.
    expect(folder.out).not.toMatch(/^warning:/m);
    const http = await pkgpub(['verify', `${url}/`, '--json']);
    expect(http.code, http.out).toBe(0);
    const report = JSON.parse(http.out) as { trust: string; errors: number; summary: { part: string }[] };
    expect(report.trust).toMatch(/^the site's own keys: keys\//);
    expect(report.errors).toBe(0);
    expect(report.summary.map((s) => s.part)).toEqual(
      expect.arrayContaining(['apt', 'yum', 'tarballs', 'drivers', 'keys', 'listings']),
    );
  });

  it('a pkgpub site verifies clean on s3rver', async () => {
    const s3 = await startS3rver('verify');
    try {
      const env = {
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AWS_REGION: 'us-east-1',
      };
      const s3Flags = ['--endpoint', s3.endpoint, '--force-path-style'];
      const pub = await pkgpub(
        ['publish', samplesDir, '--to', 's3://verify/site', ...s3Flags, '--signing-key', key.secretFile],
        env,
      );
      expect(pub.code, pub.err).toBe(0);
      const res = await pkgpub(['verify', 's3://verify/site', ...s3Flags, '--key', key.publicFile], env);
      expect(res.code, res.out + res.err).toBe(0);
      expect(res.out).toMatch(/^apt: .* 2 packages: 0 errors/m);
    } finally {
      await s3.stop();
    }
  });

  it('a site made by apt-ftparchive, createrepo_c, rpmsign and gpg verifies clean', async () => {
    const foreign = join(fixturesDir, 'foreign');
    const res = await pkgpub([
      'verify',
      join(foreign, 'tree'),
      '--key',
      join(foreign, 'old-key.asc'),
      '--deep',
    ]);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toMatch(
      /^apt: packages\/deb\/dists\/stable\/: \d+ index files \(2 Packages\), \d+ packages read: 0 errors/m,
    );
    expect(res.out).toMatch(/^yum: packages\/rpm\/: \d+ repodata files, 3 packages read: 0 errors/m);
    expect(res.out).toMatch(/^tarballs: 2 tarballs without SHA256SUMS read: 0 errors/m);
    // The same tree does not verify against a key that did not sign it.
    const wrong = await pkgpub(['verify', join(foreign, 'tree'), '--key', key.publicFile]);
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(
      /apt\.inrelease-signature: signed by key [0-9A-F]{16}, which is not among the trusted keys/,
    );
  });

  for (const [tool, site, summary] of [
    ['reprepro', 'repo', /^apt: dists\/stable\/: 6 index files \(2 Packages\), 3 packages read: 0 errors/m],
    ['aptly', 'public', /^apt: dists\/stable\/: \d+ index files \(2 Packages\), 4 packages read: 0 errors/m],
  ] as const)
    itWithTools(
      `a site ${tool} made verifies clean with --deep, and fails against another key`,
      toolsMissing([tool]),
      async () => {
        const dir = join(fixturesDir, tool);
        const res = await pkgpub(['verify', join(dir, site), '--key', join(dir, 'key.asc'), '--deep']);
        expect(res.code, res.out).toBe(0);
        expect(res.out).toMatch(summary);
        const wrong = await pkgpub(['verify', join(dir, site), '--key', key.publicFile]);
        expect(wrong.code).toBe(1);
        expect(wrong.out).toMatch(
          /apt\.inrelease-signature: signed by key [0-9A-F]{16}, which is not among the trusted keys/,
        );
      },
    );

  it('each kind of damage is found with its own message', async () => {
    const dists = 'packages/deb/dists/stable';
    const cases: [string, (d: string) => Promise<void> | void, string, boolean?][] = [
      [
        'a changed InRelease',
        (d) =>
          void execFileSync('sed', ['-i', 's/^Suite: stable/Suite: testing/', join(d, dists, 'InRelease')]),
        `apt.inrelease-signature ${dists}/InRelease`,
      ],
      [
        'a missing by-hash file',
        async (d) => {
          const folder = join(d, dists, 'main/binary-amd64/by-hash/SHA512');
          for (const f of await readdir(folder)) await rm(join(folder, f));
        },
        'apt.by-hash-missing',
      ],
      [
        'a package whose size is not its Packages entry',
        (d) => truncate(join(d, 'packages/deb/stable/falco_0.39.0_amd64.deb'), 100),
        'apt.package-size packages/deb/stable/falco_0.39.0_amd64.deb',
      ],
      [
        'a missing package',
        (d) => rm(join(d, 'packages/deb/stable/falco-rules_3.2.0_all.deb')),
        'apt.package-missing',
      ],
      [
        'an unsigned repomd.xml',
        (d) => rm(join(d, 'packages/rpm/repodata/repomd.xml.asc')),
        'yum.repomd-unsigned packages/rpm/repodata/repomd.xml.asc',
      ],
      [
        'a repodata file that does not match',
        async (d) => {
          const folder = join(d, 'packages/rpm/repodata');
          const primary = (await readdir(folder)).find((f) => f.endsWith('-primary.xml.gz'))!;
          await appendFile(join(folder, primary), 'x');
        },
        'yum.repodata-checksum',
      ],
      [
        'a SHA256SUMS line that does not match',
        (d) => appendFile(join(d, 'packages/bin/x86_64/falco-0.39.0-x86_64.tar.gz'), 'x'),
        'tarballs.sum-mismatch packages/bin/x86_64/falco-0.39.0-x86_64.tar.gz',
      ],
      [
        'a driver listed but missing',
        (d) => rm(join(d, 'driver/7.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko')),
        'drivers.missing driver/7.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko',
      ],
      [
        'a driver index changed after it was signed',
        (d) =>
          void execFileSync('sed', [
            '-i',
            's/"kind":"kmod"/"kind":"ebpf"/',
            join(d, 'driver/site/7.0.0+driver.json'),
          ]),
        'drivers.index-signature driver/site/7.0.0+driver.json.asc',
      ],
      [
        'a listing that is out of date',
        (d) => writeFile(join(d, 'packages/bin/x86_64/notes.txt'), 'new file\n'),
        'listings.stale packages/bin/x86_64/listing.json',
      ],
      [
        'a driver whose bytes are not its sha256 (deep)',
        async (d) => {
          const f = join(
            d,
            'driver/7.0.0+driver/x86_64/falco_amazonlinux2_4.14.355-275.570.amzn2.x86_64_1.o',
          );
          const bytes = await readFile(f);
          bytes[0] = bytes[0]! ^ 0xff;
          await writeFile(f, bytes);
        },
        'drivers.sha256',
        true,
      ],
    ];
    for (const [what, damage, expected, deep] of cases) {
      const report = await verifyCopy(damage, deep ? { deep: true } : {});
      expect(rules(report.findings).join('\n'), what).toContain(expected);
    }
  });

  it('--deep through the built CLI (files hashed on worker threads): clean, then a flipped driver byte and a swapped .asc', async () => {
    const dir = await mkdtemp(join(work, 'workers-'));
    try {
      await cp(base, dir, { recursive: true });
      const clean = await pkgpubProcess(['verify', dir, '--key', key.publicFile, '--deep']);
      expect(clean.code, `${clean.out}\n${clean.err}`).toBe(0);
      expect(clean.out).toMatch(/^drivers: .* drivers read: 0 errors/m);
      const driver = join(
        dir,
        'driver/7.0.0+driver/x86_64/falco_amazonlinux2_4.14.355-275.570.amzn2.x86_64_1.o',
      );
      const bytes = await readFile(driver);
      bytes[0] = bytes[0]! ^ 0xff;
      await writeFile(driver, bytes);
      await cp(
        join(dir, 'packages/deb/stable/falco_0.39.0_amd64.deb.asc'),
        join(dir, 'packages/deb/stable/falco-rules_3.2.0_all.deb.asc'),
      );
      // The worker reads each .asc: one it cannot parse, and (with no good one left to learn the
      // template from) the swapped one, are both judged in full on the main thread.
      await writeFile(join(dir, 'packages/deb/stable/falco_0.39.0_amd64.deb.asc'), 'not a signature\n');
      const damaged = await pkgpubProcess(['verify', dir, '--key', key.publicFile, '--deep']);
      expect(damaged.code, `${damaged.out}\n${damaged.err}`).toBe(1);
      expect(damaged.out).toMatch(
        /^error: driver\/7\.0\.0\+driver\/x86_64\/falco_amazonlinux2_.*: drivers\.sha256: /m,
      );
      expect(damaged.out).toMatch(
        /^error: packages\/deb\/stable\/falco-rules_3\.2\.0_all\.deb\.asc: apt\.package-asc: /m,
      );
      expect(damaged.out).toMatch(
        /^error: packages\/deb\/stable\/falco_0\.39\.0_amd64\.deb\.asc: apt\.package-asc: not an OpenPGP signature/m,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--deep one package at a time: the second .asc is judged from its digest, and a swapped .asc is caught', async () => {
    // Packages lists falco before falco-rules: falco's .asc is judged by openpgp.js, falco-rules'
    // then shares its template and is checked from the digest its hashing pass computed.
    const clean = await verifyCopy(() => {}, { deep: true, concurrency: 1 });
    expect(rules(clean.findings)).toEqual([]);
    const swapped = await verifyCopy(
      (d) =>
        cp(
          join(d, 'packages/deb/stable/falco_0.39.0_amd64.deb.asc'),
          join(d, 'packages/deb/stable/falco-rules_3.2.0_all.deb.asc'),
        ),
      { deep: true, concurrency: 1 },
    );
    expect(rules(swapped.findings)).toEqual([
      'apt.package-asc packages/deb/stable/falco-rules_3.2.0_all.deb.asc',
    ]);
    expect(swapped.findings.find((f) => f.rule === 'apt.package-asc')?.message).toMatch(/does not verify/);
  });

  it('an rpm re-signed by another key (rpmsign, createrepo_c, gpg) is found by --deep', async () => {
    gpg.gpgOk([
      '--passphrase',
      '',
      '--quick-generate-key',
      'Other <other@example.invalid>',
      'ed25519',
      'sign',
      'never',
    ]);
    const other = gpg
      .gpgOk(['--with-colons', '--list-keys', 'other@example.invalid'])
      .match(/^fpr:+([0-9A-F]{40}):/m)![1]!;
    gpg.gpgOk(['--import', key.secretFile]);
    const report = await verifyCopy(
      (d) => {
        const rpms = join(d, 'packages/rpm');
        execFileSync(
          'rpmsign',
          [
            ...[
              '--define',
              `_gpg_name ${other}`,
              '--define',
              `_gpg_path ${gpg.dir}`,
              '--define',
              '__gpg /usr/bin/gpg',
            ],
            '--addsign',
            join(rpms, 'falco-rules-3.2.0-1.noarch.rpm'),
          ],
          { stdio: 'ignore', env: { ...process.env, HOME: gpg.dir } },
        );
        // The indexes then agree with the re-signed file: only its signature is wrong.
        execFileSync('createrepo_c', ['-q', '--no-database', rpms]);
        gpg.gpgOk([
          ...['--yes', '--local-user', key.fingerprint, '--digest-algo', 'SHA256'],
          ...['--armor', '--detach-sign', join(rpms, 'repodata/repomd.xml')],
        ]);
      },
      { deep: true },
    );
    const errors = report.findings.filter((f) => f.level === 'error');
    expect(errors.map((f) => f.rule)).toContain('yum.package-signature');
    const sig = errors.find((f) => f.rule === 'yum.package-signature')!;
    expect(sig.file).toBe('packages/rpm/falco-rules-3.2.0-1.noarch.rpm');
    expect(sig.message).toContain(`signed by key ${other.slice(-16)}, which is not among the trusted keys`);
    // repomd.xml, re-signed by the site's key, is fine; nothing else is wrong with the repository.
    expect(errors.filter((f) => f.part === 'yum').map((f) => f.rule)).toEqual(['yum.package-signature']);
  });

  it('a key that expires soon is a warning, an expired one an error', async () => {
    const pair = await generateKeyPair({
      name: 'short',
      email: 'short@example.invalid',
      type: 'ed25519',
      expiresInDays: 10,
    });
    const secret = join(work, 'short.asc');
    await writeFile(secret, pair.privateArmored, { mode: 0o600 });
    const tree = join(work, 'short-site');
    const pub = await pkgpub([
      'publish',
      join(samplesDir, 'falco-0.39.0-x86_64.tar.gz'),
      '--to',
      tree,
      '--signing-key',
      secret,
    ]);
    expect(pub.code, pub.err).toBe(0);
    const today = await verifySite({ source: storeSource(new FsStore(tree)) });
    expect(today.errors).toBe(0);
    expect(rules(today.findings, 'warning').join('\n')).toMatch(/^keys\.health keys\/.*\.asc$/m);
    expect(today.findings.find((f) => f.rule === 'keys.health')!.message).toMatch(
      /expires on \d{4}-\d\d-\d\d/,
    );
    const later = await verifySite({
      source: storeSource(new FsStore(tree)),
      now: new Date(Date.now() + 11 * 86_400_000),
    });
    expect(later.findings.find((f) => f.rule === 'keys.health' && f.level === 'error')?.message).toMatch(
      /expired on/,
    );
    expect(rules(later.findings).join('\n')).toContain('tarballs.sums-signature');
  });

  it('publish --verify checks what it wrote through base_url, and catches a server that serves something else', async () => {
    const site = join(work, 'pv-site');
    const stale = join(work, 'pv-stale');
    const servers = [createStaticServer(site), createStaticServer(stale)];
    const urls: string[] = [];
    for (const s of servers) {
      await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
      urls.push(`http://127.0.0.1:${(s.address() as AddressInfo).port}`);
    }
    try {
      const publishTo = (input: string, baseUrl: string) =>
        pkgpub([
          'publish',
          input,
          '--to',
          site,
          '--base-url',
          baseUrl,
          '--signing-key',
          key.secretFile,
          '--verify',
        ]);
      const first = await publishTo(join(samplesDir, 'falco_0.39.0_amd64.deb'), urls[0]!);
      expect(first.code, first.out + first.err).toBe(0);
      expect(first.out).toMatch(
        /^verify apt: packages\/deb\/dists\/stable\/: 6 index files \(2 Packages\), 1 packages: 0 errors/m,
      );
      expect(first.out).toMatch(
        /^verified what this publish wrote, through http:\/\/127\.0\.0\.1:\d+\/: no errors$/m,
      );
      // A web server still serving yesterday's copy of the tree: the new InRelease is not what it serves.
      await cp(site, stale, { recursive: true });
      const second = await publishTo(join(samplesDir, 'falco-rules_3.2.0_all.deb'), urls[1]!);
      expect(second.code, second.out).toBe(1);
      expect(second.out).toMatch(/^error: packages\/deb\/dists\/stable\/InRelease: cdn\.stale: /m);
      expect(second.out).toMatch(/^published, but verify found \d+ errors through /m);
    } finally {
      for (const s of servers) await new Promise((res) => s.close(res));
    }
  });

  it('driver indexes stay signed through drivers prune and drivers rollback; without a key prune refuses', async () => {
    const tree = join(work, 'drivers-signed');
    const drivers = join(samplesDir, 'driver', '7.0.0+driver', 'x86_64');
    const sign = ['--signing-key', key.secretFile];
    for (const v of ['7.0.0+driver', '8.0.0+driver']) {
      const res = await pkgpub([
        'publish',
        drivers,
        '--to',
        tree,
        '--driver-version',
        v,
        '--arch',
        'x86_64',
        ...sign,
      ]);
      expect(res.code, res.err).toBe(0);
    }
    const clean = async () => {
      const r = await verifySite({
        source: storeSource(new FsStore(tree)),
        pinnedKeys: [{ file: key.publicFile, bytes: await readFile(key.publicFile) }],
      });
      return r.findings.filter((f) => f.level !== 'note').map((f) => `${f.rule} ${f.file}`);
    };
    expect(await clean()).toEqual([]);
    const refused = await pkgpub(['drivers', 'prune', '--keep', '1', '--apply', '--to', tree]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(
      /driver\/site\/index\.json\.asc signs the driver index: pass --signing-key FILE/,
    );
    const pruned = await pkgpub(['drivers', 'prune', '--keep', '1', '--apply', '--to', tree, ...sign]);
    expect(pruned.code, pruned.err).toBe(0);
    expect(await clean()).toEqual([]);
    const back = await pkgpub(['drivers', 'rollback', '--to', tree, ...sign]);
    expect(back.code, back.err).toBe(0);
    expect(await clean()).toEqual([]);
    expect(JSON.parse(await readFile(join(tree, 'driver/site/index.json'), 'utf8'))).toEqual([
      '8.0.0+driver',
      '7.0.0+driver',
    ]);
  });

  it('the CLI: exit 1 with errors, 2 for bad usage, --json with every finding', async () => {
    const dir = join(work, 'cli-damaged');
    await cp(base, dir, { recursive: true });
    await rm(join(dir, 'packages/rpm/repodata/repomd.xml.asc'));
    const res = await pkgpub(['verify', dir, '--json']);
    expect(res.code).toBe(1);
    const report = JSON.parse(res.out) as { errors: number; findings: Finding[] };
    expect(report.errors).toBeGreaterThan(0);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ level: 'error', part: 'yum', rule: 'yum.repomd-unsigned' }),
    );
    expect((await pkgpub(['verify'])).code).toBe(2);
    expect((await pkgpub(['verify', join(work, 'nothing-here')])).code).toBe(2);
  });
});
