/**
 * Against s3rver on 127.0.0.1, in one run:
 *  1. upload throughput of N files (default 200, ~1 GB) through pkgpub's S3 store and plan/apply,
 *     beside a plain SDK PutObject loop with the same concurrency over the same files;
 *  2. the number of S3 requests for adding 1 package to a repository of M packages (default 1000).
 *
 *   npm run build && node dist/bench/s3.js [--n 200] [--total-mb 1000] [--repo 1000] [--concurrency 4]
 *
 * s3rver runs from test/support/s3rver-child.mjs under --openssl-legacy-provider (its paginated
 * listings need it). Payloads are random bytes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resolveConfig } from '../src/config/resolve.js';
import { applyPlan } from '../src/transaction/apply.js';
import { makePlan } from '../src/model/plan.js';
import { publish } from '../src/changes/publish.js';
import type { OutputFile } from '../src/model/tiers.js';
import { generateKeyPair } from '../src/signing/generate-key.js';
import { loadSigner } from '../src/signing/load-key.js';
import { S3Store } from '../src/storage/s3-store.js';
import { countS3, S3RVER_CREDENTIALS, startS3rver } from './s3rver.js';

const credentials = S3RVER_CREDENTIALS;

function args(argv: string[]) {
  const o = { n: 200, totalMb: 1000, repo: 1000, concurrency: 4 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--total-mb') o.totalMb = Number(argv[++i]);
    else if (a === '--repo') o.repo = Number(argv[++i]);
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function main() {
  const o = args(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'pkgpub-bench-s3-'));
  const bucket = 'bench';
  const srv = await startS3rver(join(work, 's3'), bucket);
  try {
    const size = Math.round((o.totalMb * 1e6) / o.n);
    // The digests a read pass computes (the deb and tarball readers include md5).
    const files: { path: string; size: number; sha256: string; md5: string }[] = [];
    for (let i = 0; i < o.n; i++) {
      const bytes = randomBytes(size);
      const path = join(work, `f${i}.bin`);
      writeFileSync(path, bytes);
      files.push({
        path,
        size,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        md5: createHash('md5').update(bytes).digest('hex'),
      });
    }
    const total = (size * o.n) / 1e6;

    const client = new S3Client({
      endpoint: srv.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < files.length) {
          const f = files[next++]!;
          await client.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `plain/${f.path.split('/').pop()}`,
              Body: createReadStream(f.path),
              ContentLength: f.size,
            }),
          );
        }
      }),
    );
    const tPlain = (performance.now() - t0) / 1000;

    const store = new S3Store({
      bucket,
      prefix: 'pkgpub',
      endpoint: srv.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      concurrency: o.concurrency,
    });
    const outputs: OutputFile[] = files.map((f) => ({
      key: `blobs/${f.path.split('/').pop()}`,
      tier: 'blob',
      body: { file: f.path, size: f.size },
      sha256: f.sha256,
      md5: f.md5,
      size: f.size,
      contentType: 'application/octet-stream',
      immutable: true,
    }));
    const t1 = performance.now();
    await applyPlan(makePlan(outputs, new Map(), []), store, { concurrency: o.concurrency });
    const tOurs = (performance.now() - t1) / 1000;
    console.log(`upload of ${o.n} files, ${total.toFixed(0)} MB, concurrency ${o.concurrency}:`);
    console.log(`  plain SDK PutObject loop : ${tPlain.toFixed(2)} s (${(total / tPlain).toFixed(0)} MB/s)`);
    console.log(`  pkgpub S3 store + apply  : ${tOurs.toFixed(2)} s (${(total / tOurs).toFixed(0)} MB/s)`);
    console.log(`  pkgpub / plain throughput: ${((tPlain / tOurs) * 100).toFixed(0)}%  (target ≥ 90%)`);

    // Incremental: M tiny packages, then one more, counting every S3 request of the second publish.
    const debDir = join(work, 'debs');
    mkdirSync(debDir);
    const build = (i: number) => {
      const root = join(work, `r${i}`);
      mkdirSync(join(root, 'DEBIAN'), { recursive: true });
      writeFileSync(
        join(root, 'DEBIAN', 'control'),
        `Package: pkg${i}\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: B <b@example.invalid>\nDescription: bench\n`,
      );
      const out = join(debDir, `pkg${i}_1.0-1_amd64.deb`);
      execFileSync('dpkg-deb', ['--root-owner-group', '-b', root, out], { stdio: 'ignore' });
      rmSync(root, { recursive: true });
      return out;
    };
    process.stderr.write(`building ${o.repo + 1} tiny debs…\n`);
    const debs = Array.from({ length: o.repo + 1 }, (_, i) => build(i));
    const pair = await generateKeyPair({ name: 'bench', email: 'bench@example.invalid', type: 'ed25519' });
    const { signer } = await loadSigner({ keyArmored: pair.privateArmored });
    const cfg = resolveConfig({});
    const repoStore = () =>
      new S3Store({
        bucket,
        prefix: 'repo',
        endpoint: srv.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials,
        concurrency: 8,
      });
    await publish({ inputs: debs.slice(0, o.repo), store: repoStore(), cfg, signer, concurrency: 8 });
    const counted = repoStore();
    const counter = countS3(counted.client);
    const t2 = performance.now();
    await publish({ inputs: [debs[o.repo]!], store: counted, cfg, signer });
    const tAdd = (performance.now() - t2) / 1000;
    const totalReq = counter.total();
    console.log(
      `adding 1 deb to a ${o.repo}-package repository: ${totalReq} S3 requests in ${tAdd.toFixed(2)} s`,
    );
    console.log(
      `  ${[...counter.counts.byCommand].map(([k, v]) => `${k.replace(/Command$/, '')} ${v}`).join(', ')}`,
    );
  } finally {
    srv.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
