import { writeFile } from 'node:fs/promises';
import { renderCliDocs } from './render-docs.js';

// `npm run docs:cli`: run from the repository root, as npm runs scripts.
await writeFile('docs/cli.md', renderCliDocs());
