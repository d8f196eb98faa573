import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ejs from 'ejs';

/** The installed package's root (holds repo-templates/ and site/), from src/ or from dist/src/. */
export function packageRoot(): string {
  // src/repos/templates.ts -> root, and dist/src/repos/templates.js -> root.
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes('/dist/') ? '../../..' : '../..';
  return join(here, up);
}

/** Renders a snippet users copy (sources lists, .repo files). Plain text: no HTML escaping. */
export async function renderRepoTemplate(name: string, data: Record<string, unknown>): Promise<string> {
  const text = await readFile(join(packageRoot(), 'repo-templates', name), 'utf8');
  return ejs.render(text, data, { escape: (s: unknown) => String(s) });
}
