/**
 * `pkgpub keys rotate switch` of a tree of N rpms and N debs (issue 14) against Falco's way on a copy
 * of the same published files, in one run: `rpmsign --addsign` of every rpm (one call), `gpg
 * --detach-sign --armor` of every rpm and deb (as many gpg processes as cores), `createrepo_c
 * --update` of the rpm folder and gpg of repomd.xml, apt-ftparchive packages + release over the deb
 * folder and gpg --clearsign / --detach-sign for InRelease / Release.gpg.
 *
 *   npm run build && node dist/bench/rotate.js [--n 500] [--total-mb 1000] [--keep]
 *
 * Outside the clock: the rpms (one spec, N subpackages, bench/fixtures.ts buildRpms) and debs
 * (written in this process, writeDeb) of --total-mb together, two Ed25519 keys (old, new; the new
 * one also in a private GNUPGHOME for the reference tools), `pkgpub publish` of everything with the
 * old key, `pkgpub keys rotate add`, and the copy of the published tree the reference works on.
 * pkgpub runs through the built CLI (dist/src/cli.js) under /usr/bin/time for its peak RSS; CPU
 * seconds are this process's and its children's (node, rpmsign, gpg, createrepo_c, apt-ftparchive,
 * gzip, xz).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aptFtparchive, benchKey, buildRpms, loadAverage, spreadSizes, writeDeb } from './fixtures.js';
import { time } from './timing.js';

function args(argv: string[]) {
  const o = { n: 500, totalMb: 1000, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') o.keep = true;
    else if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--total-mb') o.totalMb = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** Every file under dir whose name ends with ext, as paths. */
function walk(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The one folder that holds every file of `files`' kind and its repodata or pool. */
function commonDir(files: string[]): string {
  let d = dirname(files[0]!);
  while (!files.every((f) => f.startsWith(`${d}/`))) d = dirname(d);
  return d;
}

async function main() {
  const o = args(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'pkgpub-bench-rotate-'));
  const homes: string[] = [];
  try {
    // Half the bytes in rpms, half in debs.
    const sizes = spreadSizes(o.n, o.totalMb / 2);
    const mb = (2 * sizes.reduce((a, b) => a + b, 0)) / 1e6;
    process.stderr.write(`building ${o.n} rpms and ${o.n} debs (${mb.toFixed(0)} MB)…\n`);
    const [built, tBuild] = time(() => buildRpms(work, join(work, 'in'), 'bench', sizes));
    mkdirSync(join(work, 'in'), { recursive: true });
    const debs: string[] = [];
    for (const [i, s] of sizes.entries())
      debs.push(await writeDeb(join(work, 'in'), `bench${i}`, '1.0-1', s));
    process.stderr.write(`built in ${tBuild.toFixed(1)} s (rpms) + the debs\n`);

    for (const d of ['old', 'new']) mkdirSync(join(work, d));
    const oldKey = await benchKey(join(work, 'old'));
    const newKey = await benchKey(join(work, 'new'));
    homes.push(oldKey.gnupg, newKey.gnupg);
    const tree = join(work, 'tree');
    const env = { ...process.env, PKGPUB_SIGNING_KEY: undefined, PKGPUB_NEW_SIGNING_KEY: undefined };
    const run = (a: string[]) =>
      execFileSync(process.execPath, [cli, ...a], {
        env,
        encoding: 'utf8',
        maxBuffer: 1 << 28,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    process.stderr.write('publishing with the old key, keys rotate add…\n');
    run(['publish', ...built, ...debs, '--to', tree, '--signing-key', oldKey.file]);
    const keys = ['--to', tree, '--signing-key', oldKey.file, '--new-key', newKey.file];
    run(['keys', 'rotate', 'add', ...keys]);
    rmSync(join(work, 'in'), { recursive: true, force: true });

    // The reference's copy of the published tree (rpmsign rewrites rpms, so a copy, not links).
    const ref = join(work, 'ref');
    cpSync(tree, ref, { recursive: true });
    const rpms = walk(ref, '.rpm');
    const refDebs = walk(ref, '.deb');
    const rpmDir = commonDir(rpms);
    // apt-ftparchive runs where dists/ is (packages/deb/), over the pool beside it.
    const debRoot = dirname(commonDir(refDebs));
    const debPool = relative(debRoot, commonDir(refDebs));
    if (!existsSync(join(debRoot, 'dists', 'stable', 'Release')))
      throw new Error(`no dists/stable in ${debRoot}`);
    // The fixture's gzip -k and xz -k stop on an index already there: the reference writes new ones.
    const binary = join(debRoot, 'dists', 'stable', 'main', 'binary-amd64');
    for (const f of readdirSync(binary)) if (f.startsWith('Packages')) rmSync(join(binary, f));
    if (rpms.length !== o.n || refDebs.length !== o.n)
      throw new Error(`the tree holds ${rpms.length} rpms and ${refDebs.length} debs, not ${o.n} each`);
    if (!readdirSync(rpmDir).includes('repodata')) throw new Error(`no repodata in ${rpmDir}`);

    // Timed: pkgpub keys rotate switch, through the CLI under /usr/bin/time (peak RSS).
    const rssFile = join(work, 'rss');
    const [out, tOurs, cOurs] = time(() =>
      execFileSync(
        '/usr/bin/time',
        ['-f', '%M', '-o', rssFile, process.execPath, cli, 'keys', 'rotate', 'switch', ...keys, '--json'],
        { env, encoding: 'utf8', maxBuffer: 1 << 28 },
      ),
    );
    const rssMb = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
    const res = JSON.parse(out.trim().split('\n').pop()!) as { applied: { written: number; bytes: number } };

    // Timed: the reference, on the copy, with the new key.
    const g = `gpg --homedir ${newKey.gnupg} --batch --yes --digest-algo SHA512`;
    const list = join(work, 'packages.list');
    execFileSync('sh', ['-c', `printf '%s\\n' "$@" > ${list}`, 'sh', ...rpms, ...refDebs]);
    const [, tRef, cRef] = time(() => {
      execFileSync(
        'rpmsign',
        [
          ...['--define', `_gpg_name ${newKey.fingerprint}`, '--define', `_gpg_path ${newKey.gnupg}`],
          ...['--define', '__gpg /usr/bin/gpg', '--addsign', ...rpms],
        ],
        // rpm would open ~/.rpmdb: HOME in the work folder keeps the host's rpm state alone.
        { stdio: 'ignore', env: { ...process.env, HOME: work } },
      );
      execFileSync('sh', [
        '-c',
        `xargs -P ${cpus().length} -I{} ${g} --detach-sign --armor -o {}.asc {} < ${list}`,
      ]);
      execFileSync('createrepo_c', ['-q', '--no-database', '--update', rpmDir]);
      execFileSync('sh', ['-c', `${g} --detach-sign --armor repomd.xml`], { cwd: join(rpmDir, 'repodata') });
      aptFtparchive(debRoot, debPool, 'stable', newKey.gnupg);
    });

    console.log(
      `keys rotate switch, ${o.n} rpms + ${o.n} debs, ${mb.toFixed(0)} MB (load ${loadAverage()}, ${cpus().length} cores):`,
    );
    const row = (what: string, wall: number, cpu: number, more = '') =>
      console.log(`  ${what.padEnd(44)} ${wall.toFixed(2).padStart(7)} ${cpu.toFixed(2).padStart(7)}${more}`);
    console.log(`  ${''.padEnd(44)} ${'wall s'.padStart(7)} ${'CPU s'.padStart(7)}`);
    row(
      'pkgpub keys rotate switch',
      tOurs,
      cOurs,
      `  peak RSS ${rssMb.toFixed(0)} MB; ${res.applied.written} objects written (${(res.applied.bytes / 1e6).toFixed(0)} MB)`,
    );
    row('rpmsign + gpg -ab + createrepo_c + ftparch.', tRef, cRef, '  the reference, same files, new key');
    console.log(
      `  ratio pkgpub / reference: time ${(tOurs / tRef).toFixed(2)}, CPU ${(cOurs / cRef).toFixed(2)}`,
    );
  } finally {
    for (const h of homes)
      try {
        execFileSync('gpgconf', ['--homedir', h, '--kill', 'all'], { stdio: 'ignore' });
        // The agents' socket folders under /run/user outlive them otherwise.
        execFileSync('gpgconf', ['--homedir', h, '--remove-socketdir'], { stdio: 'ignore' });
      } catch {}
    if (!o.keep) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
