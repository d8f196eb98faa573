import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * pkgpub's version from its package.json. The module runs as src/version.ts in tests and as
 * dist/src/version.js when built or installed, so the file is looked for upward from here
 * rather than at one fixed relative path.
 */
export async function pkgpubVersion(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const found = await readFile(join(dir, 'package.json'), 'utf8').then(
      (text) => JSON.parse(text) as { name?: string; version?: string },
      () => undefined,
    );
    if (found?.name === 'pkgpub' && typeof found.version === 'string') return found.version;
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json of pkgpub not found above its modules');
    dir = up;
  }
}
