import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adopt } from '../../src/changes/adopt.js';
import { mapLimit } from '../../src/map-limit.js';
import { publish } from '../../src/changes/publish.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { GARBAGE_KEY, parsePendingGarbage } from '../../src/transaction/garbage.js';
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
import { type S3rverHandle, startS3rver, storeOn } from '../support/s3rver.js';
import { tree } from '../support/tree.js';

// `adopt` and a `publish` into the same tree, started together (support/channel-race.ts), on the
// tree build-foreign-site.sh makes with apt-ftparchive, createrepo_c, gpg and rpmsign: on a folder
// the publish waits for the adopt's lease and lands on the adopted tree; behind the If-Match proxy
// the publish commits first, on the other tools' indexes, and the adopt re-reads and takes over
// what is left. Either way real apt and dnf get every package the tree served and the one
// published, and the history holds both generations.

const foreign = join(fixturesDir, 'foreign');
const cfg = resolveConfig({});
const deb = (n: string) => join(fixturesDir, 'deb', n);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
/** The adopt CLI's default grace: the retired forms stay served for an hour. */
const GRACE_MS = 3_600_000;

let key: TestKey;
let signer: Signer;
let scratch: string;
let s3: S3rverHandle;
let proxy: FaultProxy;
let newtool: string;

beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'races-adopt-'));
  key = await makeTestKey();
  ({ signer } = await loadSigner({ keyFile: key.secretFile }));
  [newtool] = (await buildRpms(join(scratch, 'rpms'), [
    { name: 'newtool', version: '3.0', arch: 'x86_64' },
  ])) as [string];
  s3 = await startS3rver();
  proxy = await startFaultProxy(s3.endpoint, { failureRate: 0, seed: 1, conditional: true });
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function raceAdoptAndPublish(t: RaceTree): Promise<void> {
  const t0 = performance.now();
  const raced = await raceWithPublish({
    store: t.store,
    // Its first pointer: the adopt has listed and read the tree, written the new indexes, and
    // committed nothing yet.
    pauseBefore: 'packages/deb/dists/stable/Release',
    command: (store, progress) => adopt({ store, cfg, signer, gcGraceMs: GRACE_MS, progress }),
    publish: (store, progress) =>
      publish({
        inputs: [deb('epochpkg_2.0-1_amd64.deb'), newtool],
        store,
        cfg,
        signer,
        gcGraceMs: GRACE_MS,
        progress,
      }),
  });
  const t1 = performance.now();
  const adopted = succeeded(raced.command, raced.commandSteps);
  const published = succeeded(raced.publish, raced.publishSteps);
  expect(published.changes.apt.added).toEqual(['epochpkg 1:2.0-1 amd64']);
  expect(published.changes.yum.added).toEqual(['newtool 3.0-1 x86_64']);
  const history = await historyCommands(t.store(), 'stable');
  console.log(
    `adopt race on ${t.label}: race ${secs(t1 - t0)} s; adopt attempts ${adopted.attempts}, history ${history.join(' ')}`,
  );
  expect(raced.publishWaited).toBe(!t.optimistic);
  if (t.optimistic) {
    // The publish rewrote apt's and yum's indexes in pkgpub's forms: the adopt's second attempt
    // finds them pkgpub's and takes over the rest (drivers, listings).
    expect(adopted.attempts).toBe(2);
    expect(adopted.report.apt.own).toBe(true);
    expect(adopted.report.yum.own).toBe(true);
  } else {
    expect(adopted.attempts).toBe(1);
    expect(adopted.report.apt.own).toBe(false);
  }
  expect(history).toEqual(['baseline', 'adopt', 'publish']);
  // The other tools' apt forms are retired whoever went first (they are garbage, served until the
  // grace has passed): left behind, the stale Packages.bz2 would be served for good.
  const pending = parsePendingGarbage(await t.store().get(GARBAGE_KEY)).map((p) => p.key);
  const dists = 'packages/deb/dists/stable';
  for (const arch of ['amd64', 'arm64'])
    for (const k of [
      `main/binary-${arch}/Packages.bz2`,
      `main/binary-${arch}/Release`,
      `main/Contents-${arch}.gz`,
    ])
      expect(pending).toContain(`${dists}/${k}`);
  const versions = JSON.parse(new TextDecoder().decode(await t.store().get('driver/site/index.json')));
  expect(versions).toHaveLength(3);

  await expectClientsServe({
    aptSource: `deb [signed-by=${key.publicFile}] ${t.url}/packages/deb stable main`,
    debs: [
      ...['falco_0.38.2_amd64.deb', 'falco_0.39.0_amd64.deb'].map((f) => ({
        name: 'falco',
        version: f.split('_')[1]!,
        sha256: sha256(join(foreign, 'tree/packages/deb/stable', f)),
      })),
      { name: 'epochpkg', version: '1:2.0-1', sha256: sha256(deb('epochpkg_2.0-1_amd64.deb')) },
    ],
    dnf: {
      // The old rpms keep the old key's signatures: both keys are trusted, both are checked.
      repo: {
        repoFile: [
          '[raced]',
          'name=raced',
          `baseurl=${t.url}/packages/rpm`,
          'gpgcheck=1',
          'repo_gpgcheck=1',
          `gpgkey=file://${key.publicFile} file://${join(foreign, 'old-key.asc')}`,
          '',
        ].join('\n'),
      },
      nevras: [
        'newtool-0:3.0-1.x86_64',
        'oldtool-0:1.0-1.x86_64',
        'oldtool-data-0:1.0-1.noarch',
        'signed-pkg-0:1.2.3-1.noarch',
      ],
      install: ['newtool', 'oldtool'],
    },
  });
  console.log(`adopt race on ${t.label}: clients ${secs(performance.now() - t1)} s`);
}

describe('an adopt and a publish on the same tree, started together, lose nothing', () => {
  it('on a folder (lease: the publish waits and lands on the adopted tree)', async () => {
    const root = join(mkdtempSync(join(scratch, 'folder-')), 'public');
    cpSync(join(foreign, 'tree'), root, { recursive: true, preserveTimestamps: true });
    await raceAdoptAndPublish(folderRaceTree(root));
  });

  it('on s3rver behind the If-Match proxy (the publish lands first; the adopt re-reads)', async () => {
    const prefix = 'adopt-race';
    // Uploaded as another tool would have: no sha256 metadata on any object.
    const upload = storeOn(s3, prefix);
    await mapLimit([...(await tree(join(foreign, 'tree'))).keys()], 8, (rel) =>
      upload.put(rel, { bytes: readFileSync(join(foreign, 'tree', rel)) }),
    );
    await raceAdoptAndPublish(conditionalS3RaceTree(s3, proxy, prefix));
  });
});
