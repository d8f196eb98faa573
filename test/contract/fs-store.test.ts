import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

for (const hardlink of [false, true]) {
  objectStoreContract(
    hardlink ? 'folder (--hardlink)' : 'folder',
    async (ns) => {
      const dir = join(root, hardlink ? `${ns}-hl` : ns);
      return {
        store: new FsStore(dir, { hardlink }),
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
}

describe('FsStore with hardlink', () => {
  const input = async (name: string, bytes: string, dir = root) => {
    const p = join(dir, name);
    await writeFile(p, bytes);
    return { file: p, size: Buffer.byteLength(bytes) };
  };

  it('puts an input file as a link to the same inode, and copies without the option', async () => {
    const body = await input('in-a.rpm', 'rpm bytes');
    const linked = new FsStore(join(root, 'hl-tree'), { hardlink: true });
    const copied = new FsStore(join(root, 'copy-tree'));
    await linked.put('packages/rpm/a.rpm', body);
    await copied.put('packages/rpm/a.rpm', body);
    const src = await stat(body.file);
    const l = await stat(join(root, 'hl-tree', 'packages', 'rpm', 'a.rpm'));
    const c = await stat(join(root, 'copy-tree', 'packages', 'rpm', 'a.rpm'));
    expect(l.ino).toBe(src.ino);
    expect(src.nlink).toBe(2);
    expect(c.ino).not.toBe(src.ino);
    expect(await readFile(join(root, 'copy-tree', 'packages', 'rpm', 'a.rpm'), 'utf8')).toBe('rpm bytes');
  });

  it('republishing a linked input over its own link leaves no temp file behind', async () => {
    const body = await input('in-b.rpm', 'b');
    const tree = join(root, 'hl-again');
    const store = new FsStore(tree, { hardlink: true });
    await store.put('b.rpm', body);
    // rename() between two links of one inode does nothing and succeeds: the temp name must go.
    await store.put('b.rpm', body);
    expect(await readdir(tree)).toEqual(['b.rpm']);
    expect((await stat(body.file)).nlink).toBe(2);
  });

  it('replaces what a key holds with a link to another input, atomically through a temp name', async () => {
    const first = await input('in-d1.rpm', 'first');
    const second = await input('in-d2.rpm', 'second');
    const tree = join(root, 'hl-replace');
    const store = new FsStore(tree, { hardlink: true });
    await store.put('d.rpm', first);
    await store.put('d.rpm', second);
    expect(await readFile(join(tree, 'd.rpm'), 'utf8')).toBe('second');
    expect((await stat(join(tree, 'd.rpm'))).ino).toBe((await stat(second.file)).ino);
    expect((await stat(first.file)).nlink).toBe(1);
    expect(await readdir(tree)).toEqual(['d.rpm']);
  });

  it('refuses a missing input with a storage error naming the key', async () => {
    const store = new FsStore(join(root, 'hl-missing'), { hardlink: true });
    await expect(store.put('e.rpm', { file: join(root, 'no-such-input.rpm'), size: 1 })).rejects.toThrow(
      /cannot write e\.rpm/,
    );
  });

  it('copies when the input is on another file system (EXDEV)', async () => {
    let shm: string;
    try {
      shm = await mkdtemp('/dev/shm/pkgpub-hl-');
    } catch {
      return expect.fail('/dev/shm (tmpfs) is needed to put an input on another file system');
    }
    try {
      const body = await input('in-c.rpm', 'c bytes', shm);
      const tree = join(root, 'hl-xdev');
      await new FsStore(tree, { hardlink: true }).put('c.rpm', body);
      expect(await readFile(join(tree, 'c.rpm'), 'utf8')).toBe('c bytes');
      expect((await stat(body.file)).nlink).toBe(1);
    } finally {
      await rm(shm, { recursive: true, force: true });
    }
  });

  it('never links bytes bodies or renamed temp files', async () => {
    const tree = join(root, 'hl-bytes');
    const store = new FsStore(tree, { hardlink: true });
    await store.put('x.txt', { bytes: Buffer.from('x') });
    const made = await input('made.rpm', 'signed copy');
    await store.put('y.rpm', { ...made, movable: true });
    expect(await readFile(join(tree, 'y.rpm'), 'utf8')).toBe('signed copy');
    expect((await stat(join(tree, 'y.rpm'))).nlink).toBe(1);
  });
});
