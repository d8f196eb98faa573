import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../support/paths.js';

/**
 * pkgpub supports Node 20.19+, 22 and 24, and CI runs every test on each. What it installs for
 * users must run on all three: the AWS SDK's releases after the first week of January 2027 need
 * Node 22, so its versions are pinned, and this test reads the lock file to catch a dependency
 * whose `engines` leaves out one of the versions.
 */
const SUPPORTED = ['20.19.0', '22.12.0', '24.0.0'];

interface Lock {
  packages: Record<string, { version?: string; dev?: boolean; engines?: { node?: string } | string[] }>;
}

const parse = (v: string) => v.split('.').map((p) => (p === 'x' || p === '' ? 0 : Number(p)));
const atLeast = (v: number[], min: number[]) => {
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== (min[i] ?? 0)) return (v[i] ?? 0) > (min[i] ?? 0);
  return true;
};

/** Whether `range` admits `version`; only the `>=` forms dependencies use are understood. */
function admits(range: string, version: string): boolean | 'unknown' {
  const m = /^>=\s*(\d+(?:\.(?:\d+|x))?(?:\.(?:\d+|x))?)$/.exec(range.trim());
  if (!m) return 'unknown';
  return atLeast(parse(version), parse(m[1]!));
}

it('every dependency pkgpub installs runs on Node 20.19, 22 and 24', () => {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as Lock;
  const problems: string[] = [];
  let judged = 0;
  for (const [path, pkg] of Object.entries(lock.packages)) {
    if (!path || pkg.dev) continue;
    const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
    if (!range) continue;
    judged++;
    for (const v of SUPPORTED) {
      const ok = admits(range, v);
      if (ok === 'unknown')
        problems.push(`${path}@${pkg.version}: engines.node "${range}" (judge it by hand)`);
      else if (!ok) problems.push(`${path}@${pkg.version}: engines.node "${range}" leaves out Node ${v}`);
    }
  }
  expect(problems).toEqual([]);
  expect(judged).toBeGreaterThan(20);
});

it('the AWS SDK is pinned to releases that still run on Node 20', () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    engines: { node: string };
    dependencies: Record<string, string>;
  };
  const sdk = Object.entries(pkg.dependencies).filter(([n]) => n.startsWith('@aws-sdk/'));
  expect(sdk.length).toBeGreaterThan(0);
  // A tilde range takes patch releases only; a caret would take the next minor, Node 22-only, release.
  for (const [name, range] of sdk) expect(range, name).toMatch(/^~3\.\d+\.\d+$/);
  expect(pkg.engines.node).toBe('^20.19.0 || ^22.12.0 || ^24.0.0');
});

it('the test runs on one of the supported versions', () => {
  const [major] = parse(process.versions.node);
  expect([20, 22, 24]).toContain(major);
});
