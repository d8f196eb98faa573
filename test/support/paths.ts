import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where global-setup builds fixtures with the real tools (gitignored, rebuilt when the scripts change). */
export const fixturesDir = join(repoRoot, 'test-artifacts', 'fixtures');
/**
 * Scratch space for one test file; callers mkdtemp below it. PKGPUB_TEST_SCRATCH names another
 * folder under test-artifacts, so that two test runs at once (CI runs Node versions side by side)
 * never stop each other's gpg-agents or share a temp folder.
 */
export const scratchRoot = join(repoRoot, 'test-artifacts', process.env.PKGPUB_TEST_SCRATCH || 'tmp');
/** Small committed samples (the README's first command reads them). */
export const samplesDir = join(repoRoot, 'test', 'fixtures', 'samples');
