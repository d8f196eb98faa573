import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkgpubProcess } from '../support/cli.js';
import { samplesDir, scratchRoot } from '../support/paths.js';

// The mistakes a CI step makes (a wrong path, a typo in a name, no credentials), as the built CLI
// meets them: one line that says what is wrong, a non-zero exit, and nothing written.

let work: string;

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'ci-mistakes-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Every file under `dir` with its sha256: "nothing written" means this does not change. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out[relative(dir, p)] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  };
  await walk(dir);
  return out;
}

const errorLines = (err: string) => err.split('\n').filter((l) => l.startsWith('error:'));

describe('publish of inputs that hold no artifact', () => {
  it('fails with one line naming the input and --allow-empty, and creates no tree', async () => {
    const empty = join(work, 'build-empty');
    await mkdir(empty, { recursive: true });
    await writeFile(join(empty, 'README.txt'), 'not an artifact');
    const to = join(work, 'never-made');
    const res = await pkgpubProcess(['publish', empty, '--to', to, '--unsigned']);
    expect(res.code).toBe(1);
    expect(errorLines(res.err)).toEqual([
      expect.stringMatching(
        new RegExp(`^error: no artifacts in ${empty}: .*check the path or glob, or pass --allow-empty`),
      ),
    ]);
    expect(res.out).not.toMatch(/published/);
    await expect(stat(to)).rejects.toThrow(/ENOENT/);
  });

  it('succeeds with --allow-empty', async () => {
    const empty = join(work, 'build-empty-allowed');
    await mkdir(empty, { recursive: true });
    const res = await pkgpubProcess([
      'publish',
      empty,
      '--to',
      join(work, 'allowed'),
      '--unsigned',
      '--allow-empty',
    ]);
    expect(res.err).not.toMatch(/error:/);
    expect(res.code).toBe(0);
  });
});

describe('a published tree and commands that match nothing in it', () => {
  let tree: string;
  beforeAll(async () => {
    tree = join(work, 'tree');
    const res = await pkgpubProcess(['publish', samplesDir, '--to', tree, '--unsigned', '--channel', 'dev']);
    expect(res.err).not.toMatch(/error:/);
    expect(res.code).toBe(0);
  });

  it('remove of a name no repository holds fails and writes nothing', async () => {
    const before = await snapshot(tree);
    const res = await pkgpubProcess([
      'remove',
      'falcoo=0.39.0',
      '--to',
      tree,
      '--unsigned',
      '--channel',
      'dev',
    ]);
    expect(res.code).toBe(1);
    expect(errorLines(res.err)).toEqual([
      expect.stringMatching(
        /^error: remove: nothing in channel dev of .* matches falcoo=0\.39\.0; nothing was written/,
      ),
    ]);
    expect(await snapshot(tree)).toEqual(before);
  });

  it('remove in the wrong channel fails the same way', async () => {
    const before = await snapshot(tree);
    const res = await pkgpubProcess(['remove', 'falco', '--to', tree, '--unsigned']);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/error: remove: nothing in channel stable of .* matches falco;/);
    expect(await snapshot(tree)).toEqual(before);
  });

  it('prune says so when every version is within the rules, and fails on an empty channel', async () => {
    const ok = await pkgpubProcess([
      'prune',
      '--channel',
      'dev',
      '--keep',
      '5',
      '--to',
      tree,
      '--unsigned',
      '--apply',
    ]);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(
      /nothing to prune: the \d+ version\(s\) in the dev channel are all within the rules/,
    );
    const before = await snapshot(tree);
    const empty = await pkgpubProcess([
      'prune',
      '--channel',
      'stable',
      '--allow-stable',
      '--keep',
      '5',
      '--to',
      tree,
      '--unsigned',
      '--apply',
    ]);
    expect(empty.code).toBe(1);
    expect(empty.err).toMatch(
      /error: prune: the stable channel of .* holds no debs, rpms or tarballs \(check --to and --channel\)/,
    );
    expect(await snapshot(tree)).toEqual(before);
  });

  it('promote of a name the source channel lacks fails and writes nothing', async () => {
    const before = await snapshot(tree);
    const res = await pkgpubProcess(['promote', 'falcoo', '--to', tree, '--unsigned']);
    // A name the source lacks is a usage error (exit 2) that lists what the channel holds.
    expect(res.code).toBe(2);
    expect(errorLines(res.err)).toEqual([expect.stringMatching(/falcoo.*falco/)]);
    expect(await snapshot(tree)).toEqual(before);
  });
});

describe('serve', () => {
  it('of a folder that does not exist fails at once with what to do', async () => {
    const missing = join(work, 'no-such-public');
    const res = await pkgpubProcess(['serve', missing, '--port', '0']);
    expect(res.code).toBe(1);
    expect(res.err.trim()).toBe(
      `error: serve: ${missing} does not exist (publish into it first: pkgpub publish ARTIFACTS --to ${missing})`,
    );
  });

  it('of a file fails', async () => {
    const file = join(work, 'a-file');
    await writeFile(file, 'x');
    const res = await pkgpubProcess(['serve', file, '--port', '0']);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/is not a folder/);
  });
});

describe('S3 without credentials', () => {
  it('says which credentials are missing and how to give them, in one line', async () => {
    const home = await mkdtemp(join(work, 'home-'));
    // No credential of any kind: no env keys, no profile files, no instance metadata.
    const env: Record<string, string> = {
      HOME: home,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_REGION: 'us-east-1',
    };
    const res = await pkgpubProcess(
      [
        'publish',
        samplesDir,
        '--to',
        's3://bucket/site',
        '--endpoint',
        'http://127.0.0.1:9',
        '--force-path-style',
        '--unsigned',
      ],
      env,
    );
    expect(res.code).toBe(1);
    const errors = errorLines(res.err);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error: no AWS credentials for s3:\/\/bucket\/site.*: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with a role/,
    );
    expect(res.err).not.toMatch(/Could not load credentials|probe/);
  });
});
