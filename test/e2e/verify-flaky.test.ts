import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStaticServer } from '../../src/serve/static-server.js';
import { pkgpub } from '../support/cli.js';
import { type Fault, type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { samplesDir, scratchRoot } from '../support/paths.js';

/**
 * `pkgpub verify URL` against an origin that fails: every request first meets a 5xx, a reset or a
 * cut-off body, and a file counts as missing only when the site answers 404, never because of a
 * fault that a retry gets past.
 */
let work: string;
let key: TestKey;
let server: ReturnType<typeof createStaticServer>;
let proxy: FaultProxy | undefined;
let origin: string;

const ROTATION: Fault[] = ['503', 'reset-before', 'cut-body', '500', 'reset-after'];

beforeAll(async () => {
  work = await mkdtemp(join(scratchRoot, 'verify-flaky-'));
  key = await makeTestKey();
  const site = join(work, 'site');
  server = createStaticServer(site);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const res = await pkgpub([
    'publish',
    samplesDir,
    '--to',
    site,
    '--base-url',
    origin,
    '--signing-key',
    key.secretFile,
  ]);
  expect(res.code, res.err).toBe(0);
});
afterAll(async () => {
  await proxy?.stop();
  await new Promise((res) => server?.close(res));
  if (work) await rm(work, { recursive: true, force: true });
});

it('every request failing twice first (5xx, resets, cut bodies): verify retries past all of it and finds the site clean', async () => {
  const seen = new Map<string, number>();
  let turn = 0;
  proxy = await startFaultProxy(origin, {
    failureRate: 0,
    seed: 1,
    plan(method, url) {
      const n = (seen.get(`${method} ${url}`) ?? 0) + 1;
      seen.set(`${method} ${url}`, n);
      if (n > 2) return undefined;
      const fault = ROTATION[turn++ % ROTATION.length]!;
      // A HEAD has no body to cut: it gets a 503 instead, so that its first two attempts fail too.
      return method === 'HEAD' && fault === 'cut-body' ? '503' : fault;
    },
  });
  const res = await pkgpub(['verify', proxy.endpoint, '--key', key.publicFile, '--json']);
  const report = JSON.parse(res.out) as { errors: number; findings: { level: string; file: string }[] };
  expect(
    report.findings.filter((f) => f.level === 'error'),
    res.err,
  ).toEqual([]);
  expect(res.code).toBe(0);
  // The faults really happened, every kind of them, and every file was asked for more than once.
  for (const f of ROTATION) expect(proxy.injected[f], f).toBeGreaterThan(0);
  expect(seen.size).toBeGreaterThan(20);
  expect([...seen.values()].every((n) => n >= 3)).toBe(true);
  await proxy.stop();
  proxy = undefined;
});

it('a file the origin never serves (503 every time) is an error that says so, not a missing file', async () => {
  proxy = await startFaultProxy(origin, {
    failureRate: 0,
    seed: 1,
    plan: (_m, url) => (url.endsWith('/repomd.xml') ? '503' : undefined),
  });
  const res = await pkgpub(['verify', proxy.endpoint, '--key', key.publicFile]);
  expect(res.code).toBe(1);
  const errors = res.err.split('\n').filter((l) => l.startsWith('error:'));
  expect(
    errors.some((l) => /repomd\.xml/.test(l) && /failed 4 times \(last: HTTP 503\)/.test(l)),
    res.err,
  ).toBe(true);
  expect(res.err).not.toMatch(/repomd\.xml.*(missing|not found)/i);
  // Three retries of each read, then the report: 4 requests for the one file.
  expect(proxy.requests.filter((r) => r.endsWith('/repomd.xml')).length).toBeGreaterThanOrEqual(4);
  await proxy.stop();
  proxy = undefined;
});
