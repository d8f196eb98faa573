/**
 * `pkgpub publish` of N debs against the reference pipeline on the same debs in the same run:
 * apt-ftparchive packages + apt-ftparchive release + gpg (InRelease and Release.gpg).
 * Then the cost of adding one deb to a repository of M packages (pkgpub only: apt-ftparchive
 * has no incremental mode; its line is a full rescan of the M+1 debs).
 *
 *   npm run build && node dist/bench/apt.js [--n 500] [--total-mb 1000] [--repo 5000] [--keep]
 *
 * Sizes are spread log-uniformly from 10 KB to 20 MB and scaled to the requested total. Payloads
 * are random (stored uncompressed: -Znone) so dpkg-deb spends its time writing, not compressing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aptFtparchive, benchKey, buildDeb, spreadSizes } from './fixtures.js';
import { time, timeAsync } from './timing.js';
import { resolveConfig } from '../src/config/resolve.js';
import { publish } from '../src/changes/publish.js';
import { loadSigner } from '../src/signing/load-key.js';
import { FsStore } from '../src/storage/fs-store.js';

function args(argv: string[]) {
  const o = { n: 500, totalMb: 1000, repo: 5000, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') o.keep = true;
    else if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--total-mb') o.totalMb = Number(argv[++i]);
    else if (a === '--repo') o.repo = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function main() {
  const o = args(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'pkgpub-bench-apt-'));
  mkdirSync(join(work, 'debs'));
  try {
    const sizes = spreadSizes(o.n, o.totalMb);
    process.stderr.write(
      `building ${o.n} debs (${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(0)} MB)…\n`,
    );
    const [debs, tBuild] = time(() => sizes.map((s, i) => buildDeb(work, `bench${i}`, '1.0-1', s)));
    process.stderr.write(`built in ${tBuild.toFixed(1)} s\n`);

    const key = await benchKey(work);
    const gnupg = key.gnupg;

    // Reference: apt-ftparchive over a flat pool, then signing like a repository script would.
    const ref = join(work, 'ref');
    mkdirSync(ref);
    execFileSync('ln', ['-s', join(work, 'debs'), join(ref, 'stable')]);
    const [, tRef] = time(() => aptFtparchive(ref, 'stable', 'stable', gnupg));

    // The same output pkgpub makes: every deb copied into the tree with a detached signature beside it.
    const refFull = join(work, 'ref-full');
    mkdirSync(join(refFull, 'stable'), { recursive: true });
    const [, tRefFull] = time(() => {
      execFileSync('sh', ['-c', `cp ${join(work, 'debs')}/*.deb ${join(refFull, 'stable')}/`]);
      execFileSync(
        'sh',
        [
          '-c',
          `for f in stable/*.deb; do gpg --homedir ${gnupg} --batch --yes --digest-algo SHA512 -abs -o "$f.asc" "$f"; done`,
        ],
        { cwd: refFull },
      );
    });

    const cfg = resolveConfig({});
    const { signer } = await loadSigner({ keyArmored: key.armored });
    const out = join(work, 'pkgpub');
    const [res, tOurs] = await timeAsync(() =>
      publish({ inputs: debs, store: new FsStore(out), cfg, signer }),
    );
    const total = sizes.reduce((a, b) => a + b, 0) / 1e6;
    console.log(`full build, ${o.n} debs, ${total.toFixed(0)} MB:`);
    console.log(
      `  apt-ftparchive packages+release + gpg : ${tRef.toFixed(2)} s (${(total / tRef).toFixed(0)} MB/s; indexes only, debs stay where they are)`,
    );
    console.log(
      `  pkgpub publish (folder target)        : ${tOurs.toFixed(2)} s (${(total / tOurs).toFixed(0)} MB/s; also copies every deb into the tree and writes a .asc for each)`,
    );
    console.log(
      `  ratio pkgpub / reference              : ${(tOurs / tRef).toFixed(2)}  (≤ 1.00 is the target)`,
    );
    console.log(
      `  reference + cp + gpg -abs per deb     : ${(tRef + tRefFull).toFixed(2)} s (the same tree pkgpub writes)`,
    );
    console.log(`  ratio pkgpub / that                   : ${(tOurs / (tRef + tRefFull)).toFixed(2)}`);
    console.log(`  objects written: ${res.applied?.written}`);

    // Incremental: a repository of M small packages, then one more.
    const m = o.repo;
    process.stderr.write(`building ${m} small debs for the incremental case…\n`);
    rmSync(join(work, 'debs'), { recursive: true });
    mkdirSync(join(work, 'debs'));
    const small = Array.from({ length: m + 1 }, (_, i) => buildDeb(work, `small${i}`, '1.0-1', 0));
    const repo = join(work, 'repo');
    await publish({ inputs: small.slice(0, m), store: new FsStore(repo), cfg, signer, concurrency: 8 });
    const [, tAdd] = await timeAsync(() =>
      publish({ inputs: [small[m]!], store: new FsStore(repo), cfg, signer }),
    );
    const [, tRescan] = time(() =>
      execFileSync('apt-ftparchive', ['packages', 'debs'], { cwd: work, maxBuffer: 1 << 30 }),
    );
    console.log(`adding 1 deb to a ${m}-package repository:`);
    console.log(`  pkgpub publish                        : ${tAdd.toFixed(3)} s (target < 1 s)`);
    console.log(`  apt-ftparchive packages (full rescan) : ${tRescan.toFixed(3)} s`);
  } finally {
    if (!o.keep) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
