import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkgpub } from '../support/cli.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, samplesDir, scratchRoot } from '../support/paths.js';
import { tree } from '../support/tree.js';

/**
 * A publish signs each pointer it rewrites with a key that already signs it. Before, an unsigned
 * publish into a signed tree rewrote Release and Packages beside the old InRelease (apt then
 * fails on hash sums; `pkgpub verify` found 5 errors), and a publish with another key signed the
 * new InRelease with a key no client trusts. Each is now refused before anything is written.
 */
let work: string;
let keyA: TestKey;
let keyB: TestKey;
let signed: string;

const deb = (n: string) => join(fixturesDir, 'deb', n);
const rpm = (n: string) => join(fixturesDir, 'rpm', n);
const tarball = (n: string) => join(fixturesDir, 'bin', n);

beforeAll(async () => {
  work = await mkdtemp(join(scratchRoot, 'tree-signature-'));
  [keyA, keyB] = await Promise.all([makeTestKey(), makeTestKey()]);
  signed = join(work, 'signed');
  const res = await pkgpub(['publish', samplesDir, '--to', signed, '--signing-key', keyA.secretFile]);
  expect(res.code, res.err).toBe(0);
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function verifyClean(dir: string, key: TestKey) {
  const res = await pkgpub(['verify', dir, '--key', key.publicFile]);
  expect(res.code, `${res.out}\n${res.err}`).toBe(0);
}

describe('a tree signed by one key', () => {
  const refused = [
    {
      what: 'an unsigned publish of a deb',
      args: [deb('epochpkg_2.0-1_amd64.deb'), '--unsigned'],
      error: /packages\/deb\/dists\/stable\/InRelease is signed by key [0-9A-F]{16}: a publish without a key/,
    },
    {
      what: 'an unsigned publish of an rpm',
      args: [rpm('falco-0.39.0-1.aarch64.rpm'), '--unsigned'],
      error: /packages\/rpm\/repodata\/repomd\.xml is signed by key [0-9A-F]{16}: a publish without a key/,
    },
    {
      what: 'an unsigned publish of a tarball into a signed arch folder',
      args: [tarball('falco-0.39.0-static-x86_64.tar.gz'), '--unsigned'],
      error: /packages\/bin\/x86_64\/SHA256SUMS is signed by key [0-9A-F]{16}: a publish without a key/,
    },
    {
      what: 'a publish of a deb with another key',
      args: () => [deb('epochpkg_2.0-1_amd64.deb'), '--signing-key', keyB.secretFile],
      error: () =>
        new RegExp(`InRelease is signed by key [0-9A-F]{16}, not by ${keyB.fingerprint}: clients that trust`),
    },
    {
      what: 'a publish with another key that changes nothing',
      args: () => [samplesDir, '--signing-key', keyB.secretFile],
      error: () => new RegExp(`is signed by key [0-9A-F]{16}, not by ${keyB.fingerprint}`),
    },
  ];
  for (const r of refused)
    it(`refuses ${r.what}, writes nothing, and the tree still verifies`, async () => {
      const before = await tree(signed);
      const args = typeof r.args === 'function' ? r.args() : r.args;
      const res = await pkgpub(['publish', ...args, '--to', signed]);
      expect(res.code, res.err).toBe(1);
      expect(res.err).toMatch(typeof r.error === 'function' ? r.error() : r.error);
      expect(await tree(signed)).toEqual(before);
      await verifyClean(signed, keyA);
    });

  it("publishes with the tree's own key", async () => {
    const res = await pkgpub([
      'publish',
      deb('epochpkg_2.0-1_amd64.deb'),
      rpm('falco-0.39.0-1.aarch64.rpm'),
      '--to',
      signed,
      '--signing-key',
      keyA.secretFile,
    ]);
    expect(res.code, res.err).toBe(0);
    await verifyClean(signed, keyA);
  });
});

it('a tree published unsigned starts being signed by the next signed publish that rewrites it', async () => {
  const dir = join(work, 'unsigned');
  const first = await pkgpub(['publish', deb('epochpkg_2.0-1_amd64.deb'), '--to', dir, '--unsigned']);
  expect(first.code, first.err).toBe(0);
  expect(existsSync(join(dir, 'packages/deb/dists/stable/InRelease'))).toBe(false);
  const res = await pkgpub(['publish', samplesDir, '--to', dir, '--signing-key', keyA.secretFile]);
  expect(res.code, res.err).toBe(0);
  expect(existsSync(join(dir, 'packages/deb/dists/stable/InRelease'))).toBe(true);
  expect(existsSync(join(dir, 'packages/rpm/repodata/repomd.xml.asc'))).toBe(true);
});

it("a tree another tool signed (its key not published as the tree's): a signed publish takes it over, an unsigned one is refused", async () => {
  const dir = join(work, 'foreign');
  await cp(join(fixturesDir, 'foreign', 'tree'), dir, { recursive: true });
  const unsigned = await pkgpub(['publish', deb('epochpkg_2.0-1_amd64.deb'), '--to', dir, '--unsigned']);
  expect(unsigned.code, unsigned.err).toBe(1);
  expect(unsigned.err).toMatch(/InRelease is signed by key [0-9A-F]{16}: a publish without a key/);
  const res = await pkgpub([
    'publish',
    deb('epochpkg_2.0-1_amd64.deb'),
    '--to',
    dir,
    '--signing-key',
    keyA.secretFile,
  ]);
  expect(res.code, res.err).toBe(0);
  const check = await pkgpub(['verify', dir, '--key', keyA.publicFile]);
  expect(check.out).toMatch(/^apt: .*: 0 errors/m);
});
