import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configDocs } from './config-docs/outputs.js';

// Runs compiled, from dist/scripts/: the package root is two folders up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

for (const [path, text] of Object.entries(configDocs())) {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), text);
  console.log(`wrote ${path}`);
}
