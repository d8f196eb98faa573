import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../../src/changes/publish.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { loadSigner } from '../../src/signing/load-key.js';
import type { Signer } from '../../src/signing/signer.js';
import { aptUpdatedFrom, aptVersions } from '../support/apt.js';
import { aptReadsFingerprint, ClientVerdicts, sameSignatures } from '../support/client-verdicts.js';
import { CrashPoints } from '../support/crash-points.js';
import { CrashAfterStore } from '../support/failing-store.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { fixturesDir } from '../support/paths.js';
import { type S3rverHandle, startS3rver, storeOn } from '../support/s3rver.js';

/**
 * A publish to s3rver stopped after each single write in turn. Its own file (split from
 * s3-publish.test.ts): the sweep is the suite's longest run, and beside the rest of that file it
 * was the last file standing in every CI run.
 */
const deb = (n: string) => join(fixturesDir, 'deb', n);
const cfg = resolveConfig({});
let key: TestKey;

beforeAll(async () => {
  key = await makeTestKey();
});

const aptFrom = (url: string) => aptUpdatedFrom(url, key.publicFile);

describe('publishing to s3rver, stopped after each single write', () => {
  let srv: S3rverHandle;
  beforeAll(async () => {
    srv = await startS3rver();
  });
  afterAll(async () => {
    await srv?.stop();
  });
  const publicUrl = (prefix: string) => `${srv.endpoint}/${srv.bucket}/${prefix}`;

  describe('a publish stopped after each single write leaves a repo apt reads; the next one completes it', () => {
    const points = new CrashPoints(12);
    const inputs = [deb('falco_0.39.0_amd64.deb')];
    /** apt judges each distinct dists/ tree once (client-verdicts.ts). */
    const verdicts = new ClientVerdicts<{ problems: string[]; falco: string[] }>();
    /** Times shared by every point, so equal states are equal in every byte. */
    let before: Date;
    let now: Date;
    let crashSigner: Signer;
    beforeAll(async () => {
      now = new Date();
      before = new Date(now.getTime() - 60_000);
      crashSigner = sameSignatures((await loadSigner({ keyFile: key.secretFile, now })).signer);
      await publish({
        inputs: [deb('falco_0.38.1_amd64.deb')],
        store: storeOn(srv, 'crash-base'),
        cfg,
        signer: crashSigner,
        now: before,
      });
    });
    /**
     * One writer per prefix: the settle pause that lets racing lease takers on s3rver (no atomic
     * create) see each other has nothing to settle here, and would be most of each point's time.
     */
    const ONE_WRITER = { settleMs: 20 };
    /** Every point starts from the same published tree, copied inside s3rver (CopyObject). */
    const fromBase = async (prefix: string) => {
      const bucket = storeOn(srv, '');
      const keys: string[] = [];
      for await (const o of bucket.list('crash-base/')) keys.push(o.key);
      expect(keys.length, 'objects of the base tree').toBeGreaterThan(10);
      for (const key of keys) await bucket.copy(key, `${prefix}/${key.slice('crash-base/'.length)}`);
    };
    const aptJudges = async (prefix: string) =>
      verdicts.judge(
        await aptReadsFingerprint(storeOn(srv, prefix), 'packages/deb/dists/stable', [
          await readFile(key.publicFile),
        ]),
        async () => {
          const seen = await aptFrom(publicUrl(prefix));
          return { problems: seen.problems, falco: await aptVersions(seen.apt, 'falco') };
        },
      );
    it.each(points.shardIds)(`crash points k ≡ %i (mod ${points.shards})`, async (shard) => {
      await points.run(shard, async (k) => {
        const prefix = `crash${k}`;
        await fromBase(prefix);
        const crashing = new CrashAfterStore(storeOn(srv, prefix), k);
        const crash = await publish({
          inputs,
          store: crashing,
          cfg,
          signer: crashSigner,
          now,
          concurrency: 1,
          lease: ONE_WRITER,
        }).then(
          // A run whose writes all landed but the lease's release counts as crashed there too.
          () => crashing.refusal,
          (e: unknown) => e as Error,
        );
        if (crash) {
          expect(crash.message, `after ${k} writes`).toMatch(/injected crash/);
          const mid = await aptJudges(prefix);
          expect(mid.problems, `after ${k} writes`).toEqual([]);
          expect(mid.falco, `after ${k} writes`).toContain('0.38.1');
          await publish({
            inputs,
            store: storeOn(srv, prefix),
            cfg,
            signer: crashSigner,
            now,
            lease: ONE_WRITER,
          });
        }
        const done = await aptJudges(prefix);
        expect(done.problems).toEqual([]);
        expect(done.falco, `completed after crash at ${k}`).toEqual(['0.39.0', '0.38.1']);
        return crash ? undefined : crashing.writes;
      });
    });

    it('the shards together stopped it after every single write', () => {
      const total = points.expectAllCovered(20);
      console.log(
        `s3 crash points: ${total}; apt judged ${verdicts.runs} distinct states of ${verdicts.asked}`,
      );
      // Some point must have changed what apt reads, or the crashes never reached the indexes.
      expect(verdicts.runs).toBeGreaterThan(2);
    });
  });
});
