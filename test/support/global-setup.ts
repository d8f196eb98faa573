import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, repoRoot, scratchRoot } from './paths.js';

/**
 * Builds the fixture set once per run with the real tools (dpkg-deb, rpmbuild, rpmsign, gcc-less
 * ELF stubs...). The scripts' own hash names the build, so editing a script rebuilds it and an
 * unchanged tree reuses it.
 */
export default function setup(): void {
  const scriptsDir = join(repoRoot, 'test', 'fixtures');
  const scripts = readdirSync(scriptsDir)
    .filter((f) => f.startsWith('build-') && f.endsWith('.sh'))
    .sort();
  const h = createHash('sha256');
  for (const s of scripts) h.update(s).update(readFileSync(join(scriptsDir, s)));
  const stamp = h.digest('hex');
  const stampFile = join(fixturesDir, '.stamp');
  mkdirSync(scratchRoot, { recursive: true });
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return;
  rmSync(fixturesDir, { recursive: true, force: true });
  mkdirSync(fixturesDir, { recursive: true });
  for (const s of scripts) {
    execFileSync('bash', [join(scriptsDir, s), fixturesDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  writeFileSync(stampFile, stamp);
}
