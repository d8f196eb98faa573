import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promote } from '../../src/changes/promote.js';
import { publish } from '../../src/changes/publish.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import {
  conditionalS3RaceTree,
  expectClientsServe,
  folderRaceTree,
  historyCommands,
  type RaceTree,
  raceWithPublish,
  succeeded,
} from '../support/channel-race.js';
import { secs } from '../support/cli-process.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

// `promote` into stable and a `publish` into stable, started together (support/channel-race.ts):
// on a folder the publish waits for the promote's lease and lands after it; behind the If-Match
// proxy the publish commits first and the promote re-reads and merges. Either way real apt and dnf
// get every package both added, and stable's history holds both generations.

const dev = resolveConfig({}, { channel: 'dev' });
const stable = resolveConfig({});
const deb = (n: string) => join(fixturesDir, 'deb', n);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let key: TestKey;
let signer: Signer;
let scratch: string;
let s3: S3rverHandle;
let proxy: FaultProxy;
/** tool 1.0 (published to dev, promoted) and newtool 3.0 (published to stable during the promote). */
let rpms: { tool: string; newtool: string };

beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-promote-'));
  key = await makeTestKey();
  ({ signer } = await loadSigner({ keyFile: key.secretFile }));
  const [tool, newtool] = await buildRpms(join(scratch, 'rpms'), [
    { name: 'tool', version: '1.0', arch: 'x86_64' },
    { name: 'newtool', version: '3.0', arch: 'x86_64' },
  ]);
  rpms = { tool: tool!, newtool: newtool! };
  s3 = await startS3rver();
  proxy = await startFaultProxy(s3.endpoint, { failureRate: 0, seed: 1, conditional: true });
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function racePromoteAndPublish(t: RaceTree): Promise<void> {
  const t0 = performance.now();
  const setup = await publish({
    inputs: [deb('falco_0.39.0_amd64.deb'), rpms.tool],
    store: t.store(),
    cfg: dev,
    signer,
  });
  expect(setup.changes.apt.added).toEqual(['falco 0.39.0 amd64']);
  // Stable already serves something, as it does in life: its InRelease is the one pointer clients
  // and the guarded store go by (a first-ever Release, read when no InRelease exists, would be
  // another pointer the promote commits before pausing).
  const seeded = await publish({
    inputs: [deb('falco_0.38.1_amd64.deb')],
    store: t.store(),
    cfg: stable,
    signer,
  });
  expect(seeded.changes.apt.added).toEqual(['falco 0.38.1 amd64']);

  const t1 = performance.now();
  const raced = await raceWithPublish({
    store: t.store,
    // Its first pointer: the promote has read both channels, copied the packages and written the
    // indexes, and committed nothing yet.
    pauseBefore: 'packages/deb/dists/stable/Release',
    command: (store, progress) =>
      promote({
        specs: [{ name: 'falco' }, { name: 'tool' }],
        from: dev,
        cfg: stable,
        signer,
        store,
        progress,
      }),
    publish: (store, progress) =>
      publish({
        inputs: [deb('epochpkg_2.0-1_amd64.deb'), rpms.newtool],
        store,
        cfg: stable,
        signer,
        progress,
      }),
  });
  const t2 = performance.now();
  const promoted = succeeded(raced.command, raced.commandSteps);
  const published = succeeded(raced.publish, raced.publishSteps);
  expect(promoted.report.picked.map((p) => `${p.kind} ${p.name} ${p.version}`).sort()).toEqual([
    'deb falco 0.39.0',
    'rpm tool 1.0-1',
  ]);
  expect(published.changes.apt.added).toEqual(['epochpkg 1:2.0-1 amd64']);
  expect(published.changes.yum.added).toEqual(['newtool 3.0-1 x86_64']);
  const history = await historyCommands(t.store(), 'stable');
  console.log(
    `promote race on ${t.label}: setup ${secs(t1 - t0)} s, race ${secs(t2 - t1)} s; promote attempts ${promoted.attempts}, history ${history.join(' ')}`,
  );
  // Who went first is the target's doing: the lease makes the publish wait; conditional writes make
  // the promote, overtaken at its commit, run again on the publish's state.
  expect(raced.publishWaited).toBe(!t.optimistic);
  if (t.optimistic) {
    expect(promoted.attempts).toBe(2);
    expect(raced.commandSteps.some((l) => /re-reading the target and merging \(attempt 2\)/.test(l))).toBe(
      true,
    );
  } else {
    expect(promoted.attempts).toBe(1);
    expect(promoted.report.changes.apt.added).toEqual(['falco 0.39.0 amd64']);
    expect(promoted.report.changes.yum.added).toEqual(['tool 1.0-1 x86_64']);
  }
  expect(history).toEqual(
    t.optimistic ? ['publish', 'publish', 'promote'] : ['publish', 'promote', 'publish'],
  );

  await expectClientsServe({
    aptSource: `deb [signed-by=${key.publicFile}] ${t.url}/packages/deb stable main`,
    debs: [
      { name: 'falco', version: '0.38.1', sha256: sha256(deb('falco_0.38.1_amd64.deb')) },
      { name: 'falco', version: '0.39.0', sha256: sha256(deb('falco_0.39.0_amd64.deb')) },
      { name: 'epochpkg', version: '1:2.0-1', sha256: sha256(deb('epochpkg_2.0-1_amd64.deb')) },
    ],
    dnf: {
      repo: { baseurl: `${t.url}/packages/rpm`, gpgkey: key.publicFile, gpgcheck: true, repoGpgcheck: true },
      nevras: ['tool-0:1.0-1.x86_64', 'newtool-0:3.0-1.x86_64'],
      install: ['tool', 'newtool'],
    },
  });
  console.log(`promote race on ${t.label}: clients ${secs(performance.now() - t2)} s`);
}

describe('a promote and a publish into the same channel, started together, lose nothing', () => {
  it('on a folder (lease: the publish waits and lands after the promote)', async () => {
    await racePromoteAndPublish(folderRaceTree(mkdtempSync(join(scratch, 'public-'))));
  });

  it('on s3rver behind the If-Match proxy (the promote re-reads and merges)', async () => {
    await racePromoteAndPublish(conditionalS3RaceTree(s3, proxy, 'promote-race'));
  });
});
