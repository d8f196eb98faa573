import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopAgentsUnder } from './agents.js';
import { fixturesDir, repoRoot, scratchRoot } from './paths.js';

/**
 * Builds the fixture set once per run with the real tools (dpkg-deb, rpmbuild, rpmsign, gcc-less
 * ELF stubs...). The scripts' own hash names the build, so editing a script rebuilds it and an
 * unchanged tree reuses it.
 */
export default function setup(): () => Promise<void> {
  const scriptsDir = join(repoRoot, 'test', 'fixtures');
  // build-foreign-* take the other scripts' debs and rpms as inputs: they run last.
  const foreign = (f: string) => Number(f.startsWith('build-foreign-'));
  const scripts = readdirSync(scriptsDir)
    .filter((f) => f.startsWith('build-') && f.endsWith('.sh'))
    .sort((a, b) => foreign(a) - foreign(b) || (a < b ? -1 : a > b ? 1 : 0));
  const h = createHash('sha256');
  for (const s of scripts) h.update(s).update(readFileSync(join(scriptsDir, s)));
  const stamp = h.digest('hex');
  const stampFile = join(fixturesDir, '.stamp');
  mkdirSync(scratchRoot, { recursive: true });
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return teardown;
  rmSync(fixturesDir, { recursive: true, force: true });
  mkdirSync(fixturesDir, { recursive: true });
  for (const s of scripts) {
    // TMPDIR: the scripts' mktemp work folders stay in scratch too.
    execFileSync('bash', [join(scriptsDir, s), fixturesDir], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, TMPDIR: scratchRoot },
    });
  }
  writeFileSync(stampFile, stamp);
  return teardown;
}

/**
 * Every gpg-agent a test starts must be stopped by that test's own cleanup (test/support/gpg.ts,
 * dnf.ts). One still running under test-artifacts/tmp when the run ends is a leak: stop it, and fail
 * the run naming it. Then the scratch folder is removed.
 */
async function teardown(): Promise<void> {
  const leaked = await stopAgentsUnder(scratchRoot);
  // The run's scratch goes with it (a run left ~200 folders, ~0.7 GB, behind): each file's own
  // cleanup cannot cover a test that failed half-way. PKGPUB_KEEP_SCRATCH=1 keeps it to look at.
  if (!process.env.PKGPUB_KEEP_SCRATCH) rmSync(scratchRoot, { recursive: true, force: true });
  if (leaked.length === 0) return;
  // vitest only logs an error thrown here; the exit status is what CI sees.
  process.exitCode = 1;
  console.error(
    `error: gpg-agent left running by the tests (now stopped):\n${leaked.map((a) => `  pid ${a.pid} --homedir ${a.homedir}`).join('\n')}`,
  );
}
