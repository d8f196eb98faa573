import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where global-setup builds fixtures with the real tools (gitignored, rebuilt when the scripts change). */
export const fixturesDir = join(repoRoot, 'test-artifacts', 'fixtures');
/** Scratch space for one test file; callers mkdtemp below it. */
export const scratchRoot = join(repoRoot, 'test-artifacts', 'tmp');
/** Small committed samples (the README's first command reads them). */
export const samplesDir = join(repoRoot, 'test', 'fixtures', 'samples');
