import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FsStore } from '../../src/storage/fs-store.js';
import { scratchRoot } from '../support/paths.js';
import { objectStoreContract } from './object-store.contract.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(scratchRoot, 'fs-contract-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

objectStoreContract(
  'folder',
  async (ns) => {
    const dir = join(root, ns);
    return {
      store: new FsStore(dir),
      // What `pkgpub serve` or apt over file: reads: the file at the literal key.
      plainGet: async (key) => {
        try {
          return await readFile(join(dir, ...key.split('/')));
        } catch {
          return undefined;
        }
      },
    };
  },
  { keepsSha256: false, pagination: false },
);
