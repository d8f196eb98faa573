/**
 * `pkgpub publish` of N rpms against the reference pipeline on the same rpms in the same run:
 * createrepo_c + gpg --detach-sign repodata/repomd.xml. pkgpub runs three times: with
 * --no-sign-rpms --hardlink (the closest to createrepo_c indexing in place: no rpm bytes are
 * written), with --no-sign-rpms (every rpm copied into the tree) and with rpm signing on. Two more
 * references make the files pkgpub makes: createrepo_c plus `gpg -abs` of every rpm (the unsigned
 * tree, in place), and cp + rpmsign + gpg + createrepo_c (the signed tree). A bare sha256 of every
 * rpm on every core (hash-floor.ts) is the floor under all of them. Then the cost of adding one
 * rpm to a repository of M packages, against `createrepo_c --update`.
 *
 *   npm run build && node dist/bench/yum.js [--n 500] [--total-mb 1000] [--repo 5000] [--keep]
 *
 * The rpms come from one spec with N subpackages (one rpmbuild run), each holding one random
 * file, stored uncompressed (w0.ufdio) so building costs writing, not compressing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchKey, buildRpms, spreadSizes } from './fixtures.js';
import { hashFloor } from './hash-floor.js';
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
  const work = mkdtempSync(join(tmpdir(), 'pkgpub-bench-yum-'));
  try {
    const sizes = spreadSizes(o.n, o.totalMb);
    process.stderr.write(
      `building ${o.n} rpms (${(sizes.reduce((a, b) => a + b, 0) / 1e6).toFixed(0)} MB)…\n`,
    );
    const [rpms, tBuild] = time(() => buildRpms(work, join(work, 'rpms'), 'bench', sizes));
    process.stderr.write(`built ${rpms.length} in ${tBuild.toFixed(1)} s\n`);

    const pair = await benchKey(work);
    const gnupg = pair.gnupg;
    const gpgSign = (dir: string) =>
      execFileSync(
        'gpg',
        [
          '--homedir',
          gnupg,
          '--batch',
          '--yes',
          '--digest-algo',
          'SHA512',
          '--detach-sign',
          '--armor',
          'repomd.xml',
        ],
        {
          cwd: join(dir, 'repodata'),
        },
      );

    // Reference: createrepo_c over the folder of rpms (in place), then sign repomd.xml.
    const [, tRef] = time(() => {
      execFileSync('createrepo_c', ['-q', '--no-database', join(work, 'rpms')]);
      gpgSign(join(work, 'rpms'));
    });

    // What both must do at least: sha256 every byte (repodata's pkgid), on every core.
    const [floor] = await timeAsync(() => hashFloor(rpms));

    // The files pkgpub --no-sign-rpms --hardlink writes, made in place by the reference tools: the
    // same repodata plus a gpg .asc for every rpm (two gpg processes at a time, as pkgpub uses both
    // cores). Into a copy of the folder made by hard links, outside the clock.
    const inPlace = join(work, 'ref-asc');
    execFileSync('cp', ['-al', join(work, 'rpms'), inPlace]);
    rmSync(join(inPlace, 'repodata'), { recursive: true, force: true });
    const [, tRefAsc] = time(() => {
      execFileSync('createrepo_c', ['-q', '--no-database', inPlace]);
      execFileSync(
        'sh',
        [
          '-c',
          `ls *.rpm | xargs -P 2 -I{} gpg --homedir ${gnupg} --batch --yes --digest-algo SHA512 -abs -o {}.asc {}`,
        ],
        { cwd: inPlace },
      );
      gpgSign(inPlace);
    });
    rmSync(inPlace, { recursive: true, force: true });

    // The same tree pkgpub writes with rpms signed: rpmsign --addsign on a copy of each rpm, a gpg
    // .asc for each, createrepo_c over them, repomd.xml signed.
    const full = join(work, 'ref-full');
    mkdirSync(full);
    const [, tRefFull] = time(() => {
      execFileSync('sh', ['-c', `cp ${join(work, 'rpms')}/*.rpm ${full}/`]);
      const signed = readdirSync(full).filter((f) => f.endsWith('.rpm'));
      execFileSync(
        'rpmsign',
        [
          ...['--define', `_gpg_name ${pair.fingerprint}`, '--define', `_gpg_path ${gnupg}`],
          ...['--define', '__gpg /usr/bin/gpg', '--addsign', ...signed.map((f) => join(full, f))],
        ],
        // rpm would open ~/.rpmdb: HOME in the work folder keeps the host's rpm state alone.
        { stdio: 'ignore', env: { ...process.env, HOME: work } },
      );
      execFileSync(
        'sh',
        [
          '-c',
          `for f in *.rpm; do gpg --homedir ${gnupg} --batch --yes --digest-algo SHA512 -abs -o "$f.asc" "$f"; done`,
        ],
        { cwd: full },
      );
      execFileSync('createrepo_c', ['-q', '--no-database', full]);
      gpgSign(full);
    });
    rmSync(full, { recursive: true, force: true });

    const cfg = resolveConfig({});
    const { signer } = await loadSigner({ keyArmored: pair.armored });
    const [res, tOurs] = await timeAsync(() =>
      publish({
        inputs: rpms,
        store: new FsStore(join(work, 'out-nosign')),
        cfg,
        signer,
        signRpms: false,
      }),
    );
    const [, tLinked] = await timeAsync(() =>
      publish({
        inputs: rpms,
        store: new FsStore(join(work, 'out-linked'), { hardlink: true }),
        cfg,
        signer,
        signRpms: false,
      }),
    );
    const [, tSigned] = await timeAsync(() =>
      publish({ inputs: rpms, store: new FsStore(join(work, 'out-signed')), cfg, signer }),
    );
    const total = sizes.reduce((a, b) => a + b, 0) / 1e6;
    console.log(`full build, ${rpms.length} rpms, ${total.toFixed(0)} MB:`);
    console.log(
      `  createrepo_c --no-database + gpg     : ${tRef.toFixed(2)} s (repodata only, rpms stay where they are)`,
    );
    console.log(
      `  sha256 of every rpm, every core      : ${floor.toFixed(2)} s (read and hash only: the floor under both; beyond it createrepo_c takes ${(tRef - floor).toFixed(2)} s, pkgpub --hardlink ${(tLinked - floor).toFixed(2)} s)`,
    );
    console.log(
      `  createrepo_c + gpg -abs of every rpm : ${tRefAsc.toFixed(2)} s (the same files as the next line, in place)`,
    );
    console.log(
      `  pkgpub --no-sign-rpms --hardlink     : ${tLinked.toFixed(2)} s (ratio ${(tLinked / tRef).toFixed(2)}, ${(tLinked / tRefAsc).toFixed(2)} of the line above; links every rpm, writes a .asc for each)`,
    );
    console.log(
      `  pkgpub --no-sign-rpms                : ${tOurs.toFixed(2)} s (ratio ${(tOurs / tRef).toFixed(2)}; copies every rpm into the tree, writes a .asc for each)`,
    );
    console.log(
      `  pkgpub publish, rpms signed          : ${tSigned.toFixed(2)} s (ratio ${(tSigned / tRef).toFixed(2)})`,
    );
    console.log(
      `  cp + rpmsign + gpg -abs + createrepo_c: ${tRefFull.toFixed(2)} s (the same signed tree; pkgpub signed / that: ${(tSigned / tRefFull).toFixed(2)})`,
    );
    console.log(`  objects written: ${res.applied?.written}`);

    // Incremental: a repository of M small rpms, then one more.
    const m = o.repo;
    process.stderr.write(`building ${m + 1} small rpms for the incremental case…\n`);
    rmSync(join(work, 'rpms'), { recursive: true, force: true });
    rmSync(join(work, 'out-nosign'), { recursive: true, force: true });
    rmSync(join(work, 'out-signed'), { recursive: true, force: true });
    rmSync(join(work, 'out-linked'), { recursive: true, force: true });
    const small: string[] = [];
    for (let start = 0; start <= m; start += 1000) {
      const count = Math.min(1000, m + 1 - start);
      small.push(
        ...buildRpms(work, join(work, 'small', `b${start}`), `s${start}x`, new Array(count).fill(16)),
      );
    }
    const last = small.pop()!;
    const repo = join(work, 'repo');
    await publish({ inputs: small, store: new FsStore(repo), cfg, signer, concurrency: 8 });
    const [, tAdd] = await timeAsync(() =>
      publish({ inputs: [last], store: new FsStore(repo), cfg, signer }),
    );
    const [, tAddNoSign] = await timeAsync(() =>
      publish({ inputs: [last], store: new FsStore(repo), cfg, signer, dryRun: true }),
    );
    // createrepo_c --update over the same M rpms (the first run untimed), then with one more.
    const flat = join(work, 'flat');
    mkdirSync(flat);
    for (const f of small) renameSync(f, join(flat, f.split('/').pop()!));
    execFileSync('createrepo_c', ['-q', '--no-database', flat]);
    renameSync(last, join(flat, last.split('/').pop()!));
    const [, tUpdate] = time(() => {
      execFileSync('createrepo_c', ['-q', '--no-database', '--update', flat]);
      gpgSign(flat);
    });
    console.log(`adding 1 rpm to a ${m}-package repository:`);
    console.log(`  pkgpub publish (rpm signed)          : ${tAdd.toFixed(3)} s (target < 1 s)`);
    console.log(`  pkgpub republish, nothing to do      : ${tAddNoSign.toFixed(3)} s`);
    console.log(`  createrepo_c --update + gpg          : ${tUpdate.toFixed(3)} s`);
  } finally {
    // gpg's agent for the bench key, and its socket folder under /run/user, go with the bench.
    for (const args of [['--kill', 'all'], ['--remove-socketdir']])
      try {
        execFileSync('gpgconf', ['--homedir', join(work, 'gnupg'), ...args], { stdio: 'ignore' });
      } catch {}
    if (!o.keep) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
