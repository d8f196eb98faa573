import { appendFileSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir } from './paths.js';

/** The fixture drivers of one arch, as paths. */
export function fixtureDrivers(arch = 'x86_64'): string[] {
  const dir = join(fixturesDir, 'driver', '7.0.0+driver', arch);
  return readdirSync(dir)
    .filter((n) => /\.(ko|o)$/.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * A folder `<root>/<version>/<arch>/` holding copies of the fixture drivers, so the driver
 * version comes from the folder name as it does for a CI job's output. `salt` appended to each
 * file gives other bytes under the same names.
 */
export function driverVersionFolder(
  root: string,
  version: string,
  opts: { count?: number; salt?: string } = {},
) {
  const dir = join(root, version, 'x86_64');
  mkdirSync(dir, { recursive: true });
  const files = fixtureDrivers().slice(0, opts.count);
  for (const f of files) {
    const to = join(dir, f.slice(f.lastIndexOf('/') + 1));
    copyFileSync(f, to);
    if (opts.salt) appendFileSync(to, opts.salt);
  }
  return join(root, version);
}
