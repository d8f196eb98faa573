import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readKey } from 'openpgp';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInit } from '../../src/commands/init.js';
import { recordingReporter } from '../../src/commands/reporter.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ACTION_REF } from '../../src/init/workflow-text.js';
import { SCHEMA_MODELINE } from '../../scripts/config-docs/reference.js';
import { cliOnPath, readAction, runAction } from '../support/composite-action.js';
import { repoRoot, samplesDir, scratchRoot } from '../support/paths.js';

const run = promisify(execFile);
const cliJs = join(repoRoot, 'dist', 'src', 'cli.js');
const TARGETS = [
  'pkgpub.yaml',
  '.github/workflows/publish.yml',
  '.pkgpub/signing-key.asc',
  '.pkgpub/.gitignore',
];

let root: string;
let savedPassphrase: string | undefined;

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  root = await mkdtemp(join(scratchRoot, 'init-'));
  savedPassphrase = process.env.PKGPUB_SIGNING_PASSPHRASE;
  delete process.env.PKGPUB_SIGNING_PASSPHRASE;
});

afterAll(async () => {
  if (savedPassphrase !== undefined) process.env.PKGPUB_SIGNING_PASSPHRASE = savedPassphrase;
  if (root) await rm(root, { recursive: true, force: true });
});

async function init(args: string[]) {
  const r = recordingReporter();
  const status = await runInit(args, r);
  return { status, said: [...r.lines, ...r.infos, ...r.warnings].join('\n'), r };
}

interface Validate {
  (data: unknown): boolean;
  errors?: unknown;
}

/** ajv over schema/pkgpub.schema.json, set up as test/unit/config-schema.test.ts does. */
async function schemaValidator(): Promise<Validate> {
  const name = 'ajv';
  const mod = (await import(name)) as { default: AjvClass & { default?: AjvClass } };
  const Ajv = mod.default.default ?? mod.default;
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword('patternErrorMessage');
  return ajv.compile(JSON.parse(await readFile(join(repoRoot, 'schema', 'pkgpub.schema.json'), 'utf8')));
}
type AjvClass = new (opts: object) => { addKeyword(k: string): unknown; compile(schema: object): Validate };

const mode = async (p: string) => (await stat(p)).mode & 0o777;

async function fingerprintOf(armored: string): Promise<string> {
  return (await readKey({ armoredKey: armored })).getFingerprint().toUpperCase();
}

describe('pkgpub init', () => {
  it('writes a config that parses, a key that signs a publish, and keeps the secret out of output and git', async () => {
    const dir = join(root, 'fresh');
    const { status, said, r } = await init([
      '--dir',
      dir,
      '--project',
      'acme',
      '--base-url',
      'https://pkgs.acme.test/',
    ]);
    expect(status).toBe(0);
    for (const f of [...TARGETS, 'acme-public-key.asc']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(await mode(join(dir, '.pkgpub/signing-key.asc'))).toBe(0o600);
    expect(await mode(join(dir, '.pkgpub'))).toBe(0o700);

    const secret = await readFile(join(dir, '.pkgpub/signing-key.asc'), 'utf8');
    expect(secret).toContain('BEGIN PGP PRIVATE KEY BLOCK');
    const body = secret.split('\n').filter((l) => l.length >= 8 && !l.startsWith('-----'));
    for (const l of ['PRIVATE KEY BLOCK', ...body]) expect(said).not.toContain(l);
    const publicKey = await readFile(join(dir, 'acme-public-key.asc'), 'utf8');
    const fpr = await fingerprintOf(publicKey);
    expect(await fingerprintOf(secret)).toBe(fpr);
    expect(r.lines).toContain(`fingerprint ${fpr}`);
    expect(r.infos.join('\n')).toMatch(/\.gitignore/);

    const configText = await readFile(join(dir, 'pkgpub.yaml'), 'utf8');
    const file = parseConfig(configText);
    // Editors read it against the published JSON Schema: the modeline, and the schema accepts it.
    expect(configText.split('\n')[0]).toBe(SCHEMA_MODELINE);
    const validate = await schemaValidator();
    expect(validate(file), JSON.stringify(validate.errors)).toBe(true);
    expect(file.signing?.key_file).toBe('.pkgpub/signing-key.asc');
    const cfg = resolveConfig(file, { channel: 'dev' });
    expect(cfg).toMatchObject({ project: 'acme', baseUrl: 'https://pkgs.acme.test', yum: { name: 'acme' } });
    expect(cfg.retention.dev?.keep).toBe(10);

    // git, as the project's repository, does not see the secret key.
    await run('git', ['init', '-q', dir]);
    await run('git', ['-C', dir, 'check-ignore', '-q', '.pkgpub/signing-key.asc']);
    const { stdout: untracked } = await run('git', [
      '-C',
      dir,
      'status',
      '--porcelain',
      '--untracked-files=all',
    ]);
    expect(untracked).not.toContain('.pkgpub');

    // The built CLI, run in that folder with no key flag, signs with the key pkgpub.yaml names.
    const env = { ...process.env, PKGPUB_SIGNING_KEY: '' };
    const pub = await run(
      process.execPath,
      [
        cliJs,
        'publish',
        join(samplesDir, 'falco_0.39.0_amd64.deb'),
        join(samplesDir, 'falco-0.39.0-1.x86_64.rpm'),
      ],
      { cwd: dir, env },
    );
    expect(pub.stdout).toMatch(/published to .*apt \+1 .*yum \+1/);
    const tree = join(dir, 'public');
    expect(await readFile(join(tree, 'keys/acme-packages.asc'), 'utf8')).toBe(publicKey);
    const verified = await run(
      process.execPath,
      [cliJs, 'verify', tree, '--key', join(dir, 'acme-public-key.asc')],
      {
        env,
      },
    );
    expect(verified.stdout).toMatch(/no errors/);
    expect(verified.stdout).toMatch(/^apt: .* 1 packages?: 0 errors/m);
    expect(verified.stdout).toMatch(/^yum: .* 1 packages?: 0 errors/m);
    expect(await readFile(join(tree, 'packages/rpm/acme.repo'), 'utf8')).toContain(
      'baseurl=https://pkgs.acme.test/packages/rpm',
    );
  });

  it('refuses when any target exists, names them, and leaves every file as it was', async () => {
    const dir = join(root, 'existing');
    await mkdir(join(dir, '.github/workflows'), { recursive: true });
    await writeFile(join(dir, 'pkgpub.yaml'), 'project: mine # hand-written\n');
    await writeFile(join(dir, '.github/workflows/publish.yml'), 'name: theirs\n');
    await expect(init(['--dir', dir, '--project', 'mine'])).rejects.toThrow(
      /not overwriting pkgpub\.yaml, \.github\/workflows\/publish\.yml in .*--force/,
    );
    expect(await readFile(join(dir, 'pkgpub.yaml'), 'utf8')).toBe('project: mine # hand-written\n');
    expect(await readFile(join(dir, '.github/workflows/publish.yml'), 'utf8')).toBe('name: theirs\n');
    expect(existsSync(join(dir, '.pkgpub'))).toBe(false);
    expect(existsSync(join(dir, 'mine-public-key.asc'))).toBe(false);
  });

  it('--force replaces every file, the secret key made anew at mode 600', async () => {
    const dir = join(root, 'forced');
    await init(['--dir', dir, '--project', 'acme']);
    const before = await readFile(join(dir, 'acme-public-key.asc'), 'utf8');
    // A key file someone loosened, and a config edited since.
    await chmod(join(dir, '.pkgpub/signing-key.asc'), 0o644);
    await writeFile(join(dir, 'pkgpub.yaml'), 'project: edited\n');
    await expect(init(['--dir', dir, '--project', 'acme'])).rejects.toThrow(/not overwriting/);
    const { status, r } = await init(['--dir', dir, '--project', 'acme', '--force']);
    expect(status).toBe(0);
    expect(r.lines).toContain('replaced  pkgpub.yaml');
    expect(await readFile(join(dir, 'pkgpub.yaml'), 'utf8')).toContain('project: "acme"');
    expect(await mode(join(dir, '.pkgpub/signing-key.asc'))).toBe(0o600);
    const after = await readFile(join(dir, 'acme-public-key.asc'), 'utf8');
    expect(await fingerprintOf(after)).not.toBe(await fingerprintOf(before));
    expect(await fingerprintOf(await readFile(join(dir, '.pkgpub/signing-key.asc'), 'utf8'))).toBe(
      await fingerprintOf(after),
    );
  });

  it('takes the project from the folder name and rejects a bad base URL before writing', async () => {
    const dir = join(root, 'My Tools');
    const { r } = await init(['--dir', dir]);
    expect(r.lines).toContain('wrote  my-tools-public-key.asc');
    expect(parseConfig(await readFile(join(dir, 'pkgpub.yaml'), 'utf8')).project).toBe('my-tools');
    expect(r.infos.join('\n')).toContain('set base_url');

    const bad = join(root, 'bad');
    await expect(init(['--dir', bad, '--base-url', 'ftp://x'])).rejects.toThrow(/base_url/);
    expect(existsSync(bad)).toBe(false);
  });

  it('writes a workflow that uses only inputs and outputs action.yml declares', async () => {
    const dir = join(root, 'workflow');
    await init(['--dir', dir, '--project', 'acme']);
    const wf = parse(await readFile(join(dir, '.github/workflows/publish.yml'), 'utf8'));
    expect(wf.on.push).toEqual({ branches: ['main'], tags: ['v*'] });
    const steps: { uses?: string; with?: Record<string, string>; run?: string }[] = wf.jobs.publish.steps;
    const step = steps.find((s) => s.uses === ACTION_REF);
    expect(step).toBeDefined();
    const action = await readAction(join(repoRoot, 'action.yml'));
    const withKeys = Object.keys(step!.with ?? {});
    expect(withKeys.filter((k) => !(k in action.inputs))).toEqual([]);
    expect(withKeys).toEqual(expect.arrayContaining(['artifacts', 'channel', 'signing-key']));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, not a template
    expect(step!.with!['signing-key']).toBe('${{ secrets.PKGPUB_SIGNING_KEY }}');
    expect(step!.with!.channel).toContain("'stable' || 'dev'");
    // The commented options name inputs too.
    const text = await readFile(join(dir, '.github/workflows/publish.yml'), 'utf8');
    for (const m of text.matchAll(/^ {10}# ([a-z-]+):/gm)) expect(action.inputs).toHaveProperty(m[1]!);
    for (const m of text.matchAll(/steps\.pkgpub\.outputs\.([a-z-]+)/g))
      expect(action.outputs).toHaveProperty(m[1]!);
  });

  it("the workflow's publish step, run through action.yml on a push to main, signs with the secret", async () => {
    const dir = join(root, 'ci');
    await init(['--dir', dir, '--project', 'acme', '--base-url', 'https://pkgs.acme.test']);
    const secret = await readFile(join(dir, '.pkgpub/signing-key.asc'), 'utf8');
    // A CI checkout: .pkgpub/ is ignored by git, so pkgpub.yaml's key_file is not there.
    await rm(join(dir, '.pkgpub'), { recursive: true });
    await mkdir(join(dir, 'dist'));
    for (const f of [
      'falco_0.39.0_amd64.deb',
      'falco-rules-3.2.0-1.noarch.rpm',
      'falco-0.39.0-x86_64.tar.gz',
    ])
      await cp(join(samplesDir, f), join(dir, 'dist', f));
    const wf = parse(await readFile(join(dir, '.github/workflows/publish.yml'), 'utf8'));
    const step = (wf.jobs.publish.steps as { uses?: string; with: Record<string, string> }[]).find(
      (s) => s.uses === ACTION_REF,
    )!;
    // What the runner makes of the workflow's expressions on a push to main.
    const given: Record<string, string> = {
      'secrets.PKGPUB_SIGNING_KEY': secret,
      'secrets.PKGPUB_SIGNING_PASSPHRASE': '',
      "startsWith(github.ref, 'refs/tags/v') && 'stable' || 'dev'": 'dev',
    };
    const withValues = Object.fromEntries(
      Object.entries(step.with).map(([k, v]) => [
        k,
        String(v).replace(/\$\{\{ (.*?) \}\}/g, (_, e: string) => {
          if (!(e in given)) throw new Error(`unexpected expression ${e}`);
          return given[e]!;
        }),
      ]),
    );
    const temp = join(root, 'ci-runner-temp');
    await mkdir(temp);
    const bin = await cliOnPath(join(root, 'ci-bin'), cliJs);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    delete env.PKGPUB_SIGNING_KEY;
    const result = await runAction(await readAction(join(repoRoot, 'action.yml')), {
      actionPath: repoRoot,
      workspace: dir,
      runnerTemp: temp,
      env: { ...env, PATH: `${bin}:${env.PATH}` },
      with: { ...withValues, install: 'false' },
    });
    const said = result.steps.map((s) => `${s.stdout}${s.stderr}`).join('\n');
    expect(result.ok, said).toBe(true);
    expect(result.outputs).toMatchObject({
      added: '3',
      'yum-repo-url': 'https://pkgs.acme.test/packages/rpm-dev/acme.repo',
    });
    expect(result.outputs['apt-source']).toContain('https://pkgs.acme.test/packages/deb-dev stable main');
    expect(existsSync(join(dir, 'public/packages/deb-dev/dists/stable/InRelease'))).toBe(true);
    expect(said).not.toContain('PRIVATE KEY BLOCK');
    expect(await readFile(join(dir, 'public/keys/acme-packages.asc'), 'utf8')).toBe(
      await readFile(join(dir, 'acme-public-key.asc'), 'utf8'),
    );
  });
});
