import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkgpubProcess } from '../support/cli.js';
import {
  type ActionFile,
  type ActionRun,
  cliOnPath,
  parseRunnerFile,
  readAction,
  runAction,
} from '../support/composite-action.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { repoRoot, samplesDir, scratchRoot } from '../support/paths.js';

/**
 * The repository's action.yml, run step by step as the runner runs a composite action (see
 * test/support/composite-action.ts), with the built checkout's CLI on PATH: publishes the samples
 * into a folder and reads back the tree, the job summary and the step outputs.
 */
const PASSPHRASE = 'correct horse battery staple';
const BASE_URL = 'https://pkgs.example.test/falco';

let action: ActionFile;
let key: TestKey;
let root: string;
let pathWithCli: string;

beforeAll(async () => {
  for (const built of ['dist/src/cli.js', 'dist/src/action/write-job-summary.js'])
    if (!existsSync(join(repoRoot, built))) throw new Error(`${built} is missing: npm run build first`);
  action = await readAction(join(repoRoot, 'action.yml'));
  key = await makeTestKey(PASSPHRASE);
  await mkdir(scratchRoot, { recursive: true });
  root = await mkdtemp(join(scratchRoot, 'action-'));
  const bin = await cliOnPath(join(root, 'bin'), join(repoRoot, 'dist', 'src', 'cli.js'));
  pathWithCli = `${bin}:${process.env.PATH}`;
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
  if (key) await rm(key.dir, { recursive: true, force: true });
});

/** A fresh workspace holding the samples under artifacts/ and a pkgpub.yaml, and a runner temp folder. */
async function workspace(name: string): Promise<{ ws: string; temp: string }> {
  const ws = join(root, name, 'workspace');
  const temp = join(root, name, 'runner-temp');
  await mkdir(temp, { recursive: true });
  await cp(samplesDir, join(ws, 'artifacts'), { recursive: true });
  // As `pkgpub init` writes it: a key file for local runs, which CI does not have; the key
  // given to the action must take its place.
  await writeFile(join(ws, 'pkgpub.yaml'), 'project: falco\nsigning:\n  key_file: .pkgpub/signing-key.asc\n');
  return { ws, temp };
}

function jobEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // The key reaches the action only through its input, as from secrets.PKGPUB_SIGNING_KEY.
  delete env.PKGPUB_SIGNING_KEY;
  delete env.PKGPUB_SIGNING_PASSPHRASE;
  return { ...env, PATH: pathWithCli };
}

const ARTIFACTS = `
  artifacts/*.deb
  # tarballs and rpms by glob, drivers as a folder
  artifacts/**/*.rpm
  artifacts/falco-*.tar.gz
  artifacts/driver
`;

async function publishWithAction(ws: string, temp: string): Promise<ActionRun> {
  return runAction(action, {
    actionPath: repoRoot,
    workspace: ws,
    runnerTemp: temp,
    env: jobEnv(),
    with: {
      artifacts: ARTIFACTS,
      to: 'public',
      'base-url': BASE_URL,
      'signing-key': key.privateArmored,
      'signing-passphrase': PASSPHRASE,
      install: 'false',
    },
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function failureReport(run: ActionRun): string {
  return run.steps
    .filter((s) => !s.skipped)
    .map((s) => `--- ${s.name} (exit ${s.status})\n${s.stdout}\n${s.stderr}`)
    .join('\n');
}

describe('action.yml', () => {
  it('passes inputs to scripts only through env, and declares every input it reads', async () => {
    const text = await readFile(join(repoRoot, 'action.yml'), 'utf8');
    const used = new Set([...text.matchAll(/inputs\.([A-Za-z0-9_-]+)/g)].map((m) => m[1]));
    expect([...used].filter((n) => !(n! in action.inputs))).toEqual([]);
    expect(Object.keys(action.inputs).filter((n) => !used.has(n))).toEqual([]);
    for (const step of action.runs.steps) if (step.run) expect(step.run).not.toContain('${{');
    const setupNode = action.runs.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setupNode?.if).toContain("inputs.install == 'true'");
  });

  it('publishes the samples, signed, and reports what it added and where to install from', async () => {
    const { ws, temp } = await workspace('publish');
    const run = await publishWithAction(ws, temp);
    expect(run.ok, failureReport(run)).toBe(true);

    const tree = join(ws, 'public');
    for (const f of [
      'packages/deb/dists/stable/InRelease',
      'packages/deb/dists/stable/Release.gpg',
      'packages/deb/dists/stable/main/binary-amd64/Packages',
      'packages/deb/falco.list',
      'packages/rpm/repodata/repomd.xml',
      'packages/rpm/repodata/repomd.xml.asc',
      'packages/rpm/falco.repo',
      'packages/bin/x86_64/SHA256SUMS.asc',
      'keys/falco-packages.asc',
    ])
      expect(existsSync(join(tree, f)), f).toBe(true);
    // The tree passes pkgpub verify with the public key alone.
    const verified = await pkgpubProcess(['verify', tree, '--key', key.publicFile]);
    expect(verified.code, verified.out + verified.err).toBe(0);

    const out = run.outputs;
    const result = JSON.parse(await readFile(out['result-file']!, 'utf8'));
    expect(result.changes.apt.added).toEqual(expect.arrayContaining(['falco 0.39.0 amd64']));
    expect(out.added).toBe('7');
    expect(out.removed).toBe('0');
    expect(out.unchanged).toBe('0');
    expect(Number(out['objects-written'])).toBe(result.applied.written);
    expect(Number(out['objects-written'])).toBeGreaterThan(20);
    const listFile = await readFile(join(tree, 'packages/deb/falco.list'), 'utf8');
    const debLine = listFile.split('\n').find((l) => l.startsWith('deb '));
    expect(out['apt-source']).toBe(debLine);
    expect(out['apt-source']).toContain(`signed-by=`);
    expect(out['yum-repo-url']).toBe(`${BASE_URL}/packages/rpm/falco.repo`);
    expect(out['base-url']).toBe(BASE_URL);
    const summaryJson = JSON.parse(out['summary-json']!);
    expect(summaryJson.parts.yum.added).toEqual(
      expect.arrayContaining(['falco 0.39.0-1 x86_64', 'falco-rules 3.2.0-1 noarch']),
    );
    expect(summaryJson.parts.drivers.added).toHaveLength(2);

    // Every output went through the delimiter form, and the file parses as the runner reads it.
    const stepOutputs = run.outputFiles.join('');
    expect(stepOutputs).toMatch(/^summary-json<<ghadelimiter_[0-9a-f-]{36}$/m);
    expect(parseRunnerFile(stepOutputs).added).toBe('7');

    for (const shown of [
      '`falco 0.39.0 amd64`',
      '`falco-rules 3.2.0 all`',
      '`falco 0.39.0-1 x86_64`',
      `${BASE_URL}/packages/rpm/falco.repo`,
      `${BASE_URL}/keys/falco-packages.asc`,
      debLine!,
      '| apt (.deb) | 2 | 0 | 0 |',
      '| drivers | 2 | 0 | 0 |',
    ])
      expect(run.summary).toContain(shown);

    // The secret key and its passphrase are nowhere a log, an output or the tree could show them.
    // Any line of the armor body (the short last one too), and the armor's own frame.
    const secretLines = [
      'PRIVATE KEY BLOCK',
      ...key.privateArmored.split('\n').filter((l) => l.length >= 8 && !l.startsWith('-----')),
    ];
    expect(secretLines.length).toBeGreaterThan(3);
    // Runner temp holds the result file and the runner files; the step scripts are the action's own text.
    const tempFiles = (await filesUnder(temp)).filter((f) => !f.endsWith('script.sh'));
    const visible = [
      ...run.steps.flatMap((s) => [s.stdout, s.stderr]),
      run.summary,
      stepOutputs,
      run.envFile,
      ...(await Promise.all([...(await filesUnder(tree)), ...tempFiles].map((f) => readFile(f, 'latin1')))),
    ];
    for (const text of visible) {
      for (const l of secretLines) expect(text).not.toContain(l);
      expect(text).not.toContain(PASSPHRASE);
    }
  });

  it('a second run reports the artifacts unchanged; command: remove reports what it removed', async () => {
    const { ws, temp } = await workspace('again');
    const first = await publishWithAction(ws, temp);
    expect(first.ok, failureReport(first)).toBe(true);
    const second = await publishWithAction(ws, temp);
    expect(second.ok, failureReport(second)).toBe(true);
    expect(second.outputs.added).toBe('0');
    expect(second.outputs.unchanged).toBe('7');
    expect(second.summary).toContain('| yum (.rpm) | 0 | 0 | 2 |');
    // URLs come from the config, not from what this run happened to write.
    expect(second.outputs['yum-repo-url']).toBe(`${BASE_URL}/packages/rpm/falco.repo`);

    // command: remove takes its NAME lines as written (no globbing) and reports what went.
    const removed = await runAction(action, {
      actionPath: repoRoot,
      workspace: ws,
      runnerTemp: temp,
      env: jobEnv(),
      with: {
        command: 'remove',
        artifacts: 'falco-rules',
        to: 'public',
        'base-url': BASE_URL,
        'signing-key': key.privateArmored,
        'signing-passphrase': PASSPHRASE,
        install: 'false',
      },
    });
    expect(removed.ok, failureReport(removed)).toBe(true);
    expect(removed.outputs.removed).toBe('2');
    expect(removed.summary).toContain('### pkgpub remove:');
    expect(removed.summary).toContain('- apt (.deb): `falco-rules 3.2.0 all`');
    const packages = await readFile(
      join(ws, 'public/packages/deb/dists/stable/main/binary-amd64/Packages'),
      'utf8',
    );
    expect(packages).not.toContain('Package: falco-rules');
    expect(packages).toContain('Package: falco\n');
  });

  it('fails before publishing anything when an artifacts pattern matches nothing', async () => {
    const { ws, temp } = await workspace('nomatch');
    const run = await runAction(action, {
      actionPath: repoRoot,
      workspace: ws,
      runnerTemp: temp,
      env: jobEnv(),
      with: {
        artifacts: 'artifacts/*.deb\nbuild/*.rpm',
        to: 'public',
        'signing-key': key.privateArmored,
        install: 'false',
      },
    });
    expect(run.ok).toBe(false);
    const step = run.steps.find((s) => s.name === 'Run pkgpub')!;
    expect(step.stdout).toContain('::error::artifacts: nothing matches build/*.rpm');
    expect(existsSync(join(ws, 'public'))).toBe(false);
  });

  it('install: true packs the action checkout, installs that tarball and puts its pkgpub on PATH', async () => {
    const { ws, temp } = await workspace('install');
    // The checkout is built (dist/ present), so it is packed as it is; its dependencies come from
    // npm's cache (CI has just run npm ci), else the registry. The job's PATH has no pkgpub.
    const env = { ...jobEnv(), PATH: process.env.PATH ?? '' };
    const run = await runAction(action, {
      actionPath: repoRoot,
      workspace: ws,
      runnerTemp: temp,
      env,
      with: {
        install: 'true',
        artifacts: 'artifacts/*.deb',
        to: 'public',
        'signing-key': key.privateArmored,
        'signing-passphrase': PASSPHRASE,
      },
    });
    expect(run.ok, failureReport(run)).toBe(true);
    const added = (
      await readFile(
        join(temp, (await readdir(temp)).find((d) => d.startsWith('_runner'))!, 'add_path'),
        'utf8',
      )
    ).trim();
    expect(added).toBe(join(temp, 'pkgpub', 'bin'));
    // The command on PATH is the packed package, not the checkout, with the locked dependencies.
    const installed = join(temp, 'pkgpub', 'package');
    expect(realpathSync(join(added, 'pkgpub'))).toBe(join(installed, 'dist', 'src', 'cli.js'));
    expect(existsSync(join(installed, 'test'))).toBe(false);
    const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; dev?: boolean }>;
    };
    let compared = 0;
    for (const [path, pkg] of Object.entries(lock.packages)) {
      if (!path.startsWith('node_modules/')) continue;
      const manifest = join(installed, path, 'package.json');
      if (pkg.dev) expect(existsSync(manifest), path).toBe(false);
      else {
        const got = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
        expect(got.version, path).toBe(pkg.version);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20);
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const step = run.steps.find((s) => s.name === 'Install pkgpub')!;
    expect(step.stdout.trim().split('\n').at(-1)).toBe(version);
    // The next step found it there (the job's PATH has no other pkgpub) and published with it.
    expect(run.outputs.added).toBe('2');
    expect(existsSync(join(ws, 'public', 'packages/deb/dists/stable/InRelease'))).toBe(true);
  }, 120_000);
});
