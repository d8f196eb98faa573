import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pkgpubProcess } from '../support/cli.js';
import { repoRoot, samplesDir, scratchRoot } from '../support/paths.js';

const run = promisify(execFile);

/**
 * The package as users get it: `npm pack` of this checkout, installed into an empty prefix, and
 * run from a folder outside the checkout. Templates, site files, the JSON Schema and the worker
 * threads' module must all come from the installed package.
 */
let work: string;
let prefix: string;
let bin: string;
let server: ChildProcess | undefined;

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'packed-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: repoRoot });
  const tarball = join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  prefix = join(work, 'prefix');
  await mkdir(prefix);
  // Dependencies come from npm's cache when it has them (CI has just run npm ci), else the registry.
  await run(
    'npm',
    ['install', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tarball],
    { cwd: work, maxBuffer: 16 * 1024 * 1024 },
  );
  bin = join(prefix, 'node_modules', '.bin', 'pkgpub');
}, 240_000);

afterAll(async () => {
  server?.kill('SIGTERM');
  if (work) await rm(work, { recursive: true, force: true });
});

/** Runs the installed `pkgpub` from a folder that is not the checkout. */
const pkgpub = (args: string[]) => pkgpubProcess(args, {}, { bin, cwd: work });

it('holds what the CLI needs and nothing of the checkout besides', async () => {
  const pkg = join(prefix, 'node_modules', 'pkgpub');
  const files = (await readdir(pkg, { recursive: true })).map(String);
  for (const needed of [
    'dist/src/cli.js',
    'dist/src/workers/worker.js',
    'site/listing.ejs',
    'site/root.ejs',
    'repo-templates/yum.repo.ejs',
    'schema/pkgpub.schema.json',
  ])
    expect(files, needed).toContain(needed);
  expect(files.filter((f) => /^(test|bench|scripts|\.ci|dist\/test|dist\/bench)(\/|$)/.test(f))).toEqual([]);
  expect(files.filter((f) => /\.pkgpub-demo|signing-key/.test(f))).toEqual([]);
});

it('--version prints the package version', async () => {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
  };
  const res = await pkgpub(['--version']);
  expect(res.code).toBe(0);
  expect(res.out.trim()).toBe(version);
});

it('generates a key, publishes the samples, and serves them, from the installed package', async () => {
  const keys = join(work, 'keys');
  const gen = await pkgpub([
    'keys',
    'generate',
    '--name',
    'packed test',
    '--email',
    'packed@example.invalid',
    '--out',
    keys,
    '--project',
    'packed',
  ]);
  expect(gen.code, gen.err).toBe(0);
  const secret = (await readdir(keys)).find((f) => f.endsWith('signing-key.asc'));
  expect(secret).toBeDefined();
  const site = join(work, 'site');
  const pub = await pkgpub(['publish', samplesDir, '--to', site, '--signing-key', join(keys, secret!)]);
  expect(pub.code, pub.err).toBe(0);
  expect(pub.out).toMatch(/published to .*apt \+2 .*yum \+2 .*tarballs \+1/);
  for (const f of [
    'index.html',
    'packages/deb/dists/stable/InRelease',
    'packages/rpm/repodata/repomd.xml.asc',
    'packages/rpm/falco.repo',
    'driver/site/index.html',
    'driver/site/index.json.asc',
  ])
    expect((await stat(join(site, f))).size, f).toBeGreaterThan(0);

  server = spawn(bin, ['serve', site, '--port', '0'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let said = '';
    server!.stdout!.on('data', (c: Buffer) => {
      said += c.toString();
      const m = /serving .* at (http:\/\/\S+)/.exec(said);
      if (m) resolve(m[1]!);
    });
    server!.once('exit', (code) => reject(new Error(`serve exited ${code}: ${said}`)));
  });
  const root = await fetch(url);
  expect(root.status).toBe(200);
  expect(await root.text()).toMatch(/packed-packages\.asc|apt/);
  const inRelease = await fetch(new URL('packages/deb/dists/stable/InRelease', url));
  expect(inRelease.status).toBe(200);
  expect(await inRelease.text()).toMatch(/^-----BEGIN PGP SIGNED MESSAGE-----/);
}, 120_000);
