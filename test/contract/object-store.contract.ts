import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreconditionError, StorageError } from '../../src/errors.js';
import type { ObjectInfo, ObjectStore } from '../../src/storage/object-store.js';
import { scratchRoot } from '../support/paths.js';

/** One backend under test, rooted in a namespace of its own so tests never see each other's keys. */
export interface ContractFixture {
  store: ObjectStore;
  /** Content-Type, Cache-Control and x-amz-meta-sha256 as the backend stored them (S3 only). */
  rawHead?(key: string): Promise<{ contentType?: string; cacheControl?: string; sha256?: string }>;
  /** The object as a plain HTTP client (or a plain file reader) sees it, addressed by its literal key. */
  plainGet?(key: string): Promise<Uint8Array | undefined>;
}

export interface ContractOptions {
  /** Whether head() reports the sha256 given to put() (metadata backends). */
  keepsSha256: boolean;
  /** Expected supportsConditionalWrites() answer; undefined for backends without the probe. */
  conditionalWrites?: boolean;
  /** Run the >1000 keys listing and deletion test (costly; S3 pagination is what it checks). */
  pagination: boolean;
  /** ETag form after a multipart upload: MD5 of the whole object, or AWS's md5-of-parts "-N". */
  multipartEtag?: 'whole-md5' | 'parts';
  /** False for servers that overwrite in place (a reader can catch a torn object): the test is skipped. */
  atomicOverwrite?: boolean;
  /** False for servers whose listing is not in UTF-8 byte order of the keys. */
  keyOrderListing?: boolean;
  /** Whether listFolder() reports the MD5 of objects put in one request (S3: the ETag). */
  listsMd5?: boolean;
}

const MiB = 1024 * 1024;
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function parallel<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * The behaviour every ObjectStore must share, run once per backend. `makeStore(ns)` returns a
 * store rooted at a fresh namespace `ns` (a subfolder or key prefix).
 */
export function objectStoreContract(
  name: string,
  makeStore: (ns: string) => Promise<ContractFixture>,
  opts: ContractOptions,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let n = 0;
    const run = randomBytes(4).toString('hex');
    const fresh = () => makeStore(`contract-${run}/t${++n}`);
    // Servers that do not list in byte order are held to the same set of keys, in their own order.
    const keysOf = (got: ObjectInfo[]) => {
      const keys = got.map((o) => o.key);
      return opts.keyOrderListing === false ? keys.sort(byteOrder) : keys;
    };
    let tmp: string;
    beforeAll(async () => {
      tmp = await mkdtemp(join(scratchRoot, 'contract-'));
    });
    afterAll(async () => {
      await rm(tmp, { recursive: true, force: true });
    });

    it('answers undefined for a missing key', async () => {
      const { store } = await fresh();
      expect(await store.get('nope/missing.txt')).toBeUndefined();
      expect(await store.head('nope/missing.txt')).toBeUndefined();
      expect(await store.getStream('nope/missing.txt')).toBeUndefined();
    });

    it('puts bytes and reads them back through get, getStream and head', async () => {
      const { store } = await fresh();
      const body = bytes('hello contract\n');
      const put = await store.put('a/b/hello.txt', { bytes: body });
      expect(put.key).toBe('a/b/hello.txt');
      expect(put.size).toBe(body.length);
      expect(text(await store.get('a/b/hello.txt'))).toBe('hello contract\n');
      const s = await store.getStream('a/b/hello.txt');
      const chunks: Buffer[] = [];
      for await (const c of s!) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('hello contract\n');
      const head = await store.head('a/b/hello.txt');
      expect(head).toMatchObject({ key: 'a/b/hello.txt', size: body.length });
      expect(head!.lastModified).toBeInstanceOf(Date);
      expect(head!.etag).toBeTruthy();
      expect(head!.etag).toBe(put.etag);
    });

    it('puts an empty object', async () => {
      const { store } = await fresh();
      await store.put('empty', { bytes: new Uint8Array() });
      expect((await store.get('empty'))?.length).toBe(0);
      expect((await store.head('empty'))?.size).toBe(0);
    });

    it('overwrites: the new bytes win and the etag changes', async () => {
      const { store } = await fresh();
      const first = await store.put('k', { bytes: bytes('one') });
      const second = await store.put('k', { bytes: bytes('second version') });
      expect(text(await store.get('k'))).toBe('second version');
      expect((await store.head('k'))?.size).toBe(14);
      expect(second.etag).not.toBe(first.etag);
    });

    it.skipIf(opts.atomicOverwrite === false)(
      'readers never see a partial object while it is overwritten',
      async () => {
        const { store } = await fresh();
        const a = new Uint8Array(2 * MiB).fill(0x61);
        const b = new Uint8Array(2 * MiB).fill(0x62);
        await store.put('big', { bytes: a });
        const seen: string[] = [];
        let writing = true;
        const readers = Promise.all(
          Array.from({ length: 3 }, async () => {
            while (writing) {
              const got = await store.get('big');
              const first = got?.[0];
              const whole = got !== undefined && got.length === 2 * MiB && got.every((x) => x === first);
              seen.push(whole ? String.fromCharCode(first!) : `torn:${got?.length}`);
            }
          }),
        );
        try {
          for (let i = 0; i < 6; i++) await store.put('big', { bytes: i % 2 ? a : b });
        } finally {
          writing = false;
          await readers;
        }
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.filter((s) => s !== 'a' && s !== 'b')).toEqual([]);
        expect(text((await store.get('big'))!.subarray(0, 1))).toBe('a');
      },
    );

    it('lists recursively below a folder prefix, in key order, with keys relative to the root', async () => {
      const { store } = await fresh();
      const keys = ['dir/b.txt', 'dir/a/deep/x.bin', 'dir/a/y', 'dir2/z', 'top', 'dir/a+b/c', 'dir/a b/c'];
      for (const k of keys) await store.put(k, { bytes: bytes(k) });
      const all = await collect(store.list(''));
      expect(keysOf(all)).toEqual([...keys].sort(byteOrder));
      for (const o of all) expect(o.size).toBe(bytes(o.key).length);
      const dir = keysOf(await collect(store.list('dir')));
      expect(dir).toEqual(keys.filter((k) => k.startsWith('dir/')).sort(byteOrder));
      expect(keysOf(await collect(store.list('dir/')))).toEqual(dir);
      expect(keysOf(await collect(store.list('dir/a')))).toEqual(['dir/a/deep/x.bin', 'dir/a/y']);
      expect(await collect(store.list('nothing-here'))).toEqual([]);
      // A prefix is a folder, never a partial name: "dir" must not reach "dir2/z".
      expect(dir).not.toContain('dir2/z');
    });

    it('lists one folder without its subfolders, optionally only names starting with a prefix', async () => {
      const { store } = await fresh();
      const keys = [
        'dir/a.deb',
        'dir/a.deb.asc',
        'dir/b c.txt',
        'dir/a+b',
        'dir/sub/x',
        'dir/sub/deeper/y',
        'dir2/z',
        'top',
        'other/deep/only/k',
      ];
      for (const k of keys) await store.put(k, { bytes: bytes(k) });
      const names = async (folder: string, start?: string) =>
        (await collect(store.listFolder(folder, start))).map((o) => o.key).sort(byteOrder);
      const dir = await collect(store.listFolder('dir'));
      expect(dir.map((o) => o.key).sort(byteOrder)).toEqual([
        'dir/a+b',
        'dir/a.deb',
        'dir/a.deb.asc',
        'dir/b c.txt',
      ]);
      for (const o of dir) {
        expect(o.size).toBe(bytes(o.key).length);
        expect(o.etag).toBe((await store.head(o.key))?.etag);
        // Where a listing reports an MD5 (S3 single-part ETags), it is the bytes' MD5.
        if (opts.listsMd5) expect(o.md5).toBe(md5(bytes(o.key)));
        else expect(o.md5 === undefined || o.md5 === md5(bytes(o.key))).toBe(true);
      }
      expect(await names('dir/')).toEqual(await names('dir'));
      expect(await names('')).toEqual(['top']);
      expect(await names('dir/sub')).toEqual(['dir/sub/x']);
      expect(await names('dir/sub/deeper')).toEqual(['dir/sub/deeper/y']);
      expect(await names('other')).toEqual([]);
      expect(await names('nothing-here')).toEqual([]);
      expect(await names('dir', 'a.deb')).toEqual(['dir/a.deb', 'dir/a.deb.asc']);
      expect(await names('dir', 'a')).toEqual(['dir/a+b', 'dir/a.deb', 'dir/a.deb.asc']);
      expect(await names('dir', 'zzz')).toEqual([]);
      expect(await names('', 't')).toEqual(['top']);
      // "dir" as a name start must not reach into "dir/" or "dir2/".
      expect(await names('', 'dir')).toEqual([]);
    });

    it('deletes many keys across folders; missing keys are not an error', async () => {
      const { store } = await fresh();
      const keys = Array.from({ length: 60 }, (_, i) => `d${i % 3}/sub/f${i}`);
      await parallel(keys, 8, (k) => store.put(k, { bytes: bytes(k) }));
      await store.put('keep/me', { bytes: bytes('stay') });
      expect((await collect(store.list(''))).length).toBe(61);
      await store.delete([...keys, 'never/existed']);
      expect((await collect(store.list(''))).map((o) => o.key)).toEqual(['keep/me']);
      expect(await store.get(keys[0]!)).toBeUndefined();
      await store.delete([]);
      await store.delete(['keep/me']);
      expect(await collect(store.list(''))).toEqual([]);
    });

    if (opts.pagination) {
      it('lists and deletes more than 1000 keys (pagination and batching)', async () => {
        const { store } = await fresh();
        const keys = Array.from({ length: 1100 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
        await parallel(keys, 32, (k) => store.put(k, { bytes: new Uint8Array([1]) }));
        const listed = keysOf(await collect(store.list('many')));
        expect(listed.length).toBe(1100);
        expect(listed).toEqual(keys);
        // Only Contents pages here: 1100 names in one folder take two pages on S3.
        const folder = (await collect(store.listFolder('many'))).map((o) => o.key).sort(byteOrder);
        expect(folder).toEqual(keys);
        await store.delete(keys);
        expect(await collect(store.list('many'))).toEqual([]);
      });
    }

    it('keeps content type, cache control and the sha256 where the backend has metadata', async () => {
      const fx = await fresh();
      const body = bytes('{"x":1}');
      const digest = sha256(body);
      await fx.store.put(
        'meta/x.json',
        { bytes: body },
        { contentType: 'application/json', cacheControl: 'public, max-age=60', sha256: digest },
      );
      const head = await fx.store.head('meta/x.json');
      if (opts.keepsSha256) expect(head?.sha256).toBe(digest);
      else expect(head?.sha256 === undefined || head.sha256 === digest).toBe(true);
      if (fx.rawHead) {
        expect(await fx.rawHead('meta/x.json')).toEqual({
          contentType: 'application/json',
          cacheControl: 'public, max-age=60',
          sha256: digest,
        });
      }
    });

    it('copies an object inside the store: same bytes and metadata, independent of its source', async () => {
      const fx = await fresh();
      const { store } = fx;
      const body = bytes('the bytes of a package\n');
      const digest = sha256(body);
      // '+' and a space: deb versions hold '+', and copy sources are URL-encoded on S3.
      const src = 'packages/deb-dev/stable/a+b_1.0 x_amd64.deb';
      const dst = 'packages/deb/stable/a+b_1.0 x_amd64.deb';
      const meta = {
        contentType: 'application/vnd.debian.binary-package',
        cacheControl: 'public, max-age=31536000, immutable',
        sha256: digest,
      };
      await store.put(src, { bytes: body }, meta);
      const info = await store.copy(src, dst, { sha256: digest, md5: md5(body) });
      expect(info.key).toBe(dst);
      expect(info.size).toBe(body.length);
      expect(text(await store.get(dst))).toBe('the bytes of a package\n');
      const head = await store.head(dst);
      expect(head?.size).toBe(body.length);
      if (opts.keepsSha256) expect(head?.sha256).toBe(digest);
      // The copy carries the source's metadata: nothing was given for it but the sha256.
      if (fx.rawHead) expect(await fx.rawHead(dst)).toEqual(meta);
      if (fx.plainGet) expect(text(await fx.plainGet(dst))).toBe('the bytes of a package\n');
      const listed = await collect(store.listFolder('packages/deb/stable'));
      expect(listed.map((o) => o.key)).toEqual([dst]);
      if (opts.listsMd5) expect(listed[0]!.md5).toBe(md5(body));
      // The size given is what the store reports back, without asking the backend.
      expect((await store.copy(src, 'sized/copy.deb', { size: body.length })).size).toBe(body.length);
      expect(text(await store.get('sized/copy.deb'))).toBe('the bytes of a package\n');

      // Onto an existing key: the copy replaces it.
      await store.put('packages/deb/stable/old.deb', { bytes: bytes('older, longer bytes here\n') });
      await store.copy(src, 'packages/deb/stable/old.deb');
      expect(text(await store.get('packages/deb/stable/old.deb'))).toBe('the bytes of a package\n');
      expect((await store.head('packages/deb/stable/old.deb'))?.size).toBe(body.length);

      // Replacing the source later leaves the copy as it was (a folder's hard link included).
      await store.put(src, { bytes: bytes('new source bytes\n') });
      expect(text(await store.get(dst))).toBe('the bytes of a package\n');
      expect(text(await store.get(src))).toBe('new source bytes\n');

      // Onto a key that already holds these bytes (in a folder, another link of the same inode), twice.
      await store.copy(dst, 'packages/deb/stable/old.deb');
      await store.copy(dst, 'packages/deb/stable/old.deb');
      expect((await collect(store.list('packages/deb'))).map((o) => o.key).sort(byteOrder)).toEqual(
        [dst, 'packages/deb/stable/old.deb'].sort(byteOrder),
      );

      await expect(store.copy('nope/missing.deb', 'copied/missing.deb')).rejects.toBeInstanceOf(StorageError);
      expect(await store.head('copied/missing.deb')).toBeUndefined();
      for (const bad of ['../x', '/abs', 'a//b'])
        for (const [f, t] of [
          [bad, 'ok/target'],
          [dst, bad],
        ] as const)
          await expect(store.copy(f, t), `${f} -> ${t}`).rejects.toBeInstanceOf(StorageError);
      // Where an ETag is the MD5 (single-part S3 objects), a source that is not what its index
      // says is reported.
      if (opts.listsMd5)
        await expect(store.copy(dst, 'copied/checked.deb', { md5: '0'.repeat(32) })).rejects.toThrow(
          /not the object its index describes/,
        );
    });

    it('handles keys with +, spaces and non-ASCII letters, also for plain readers', async () => {
      const fx = await fresh();
      const keys = ['driver/7.0.0+driver/x86_64/a.ko', 'with space/a b.txt', 'unicode/é日本.txt'];
      for (const k of keys) await fx.store.put(k, { bytes: bytes(`body of ${k}`) });
      for (const k of keys) expect(text(await fx.store.get(k))).toBe(`body of ${k}`);
      expect(keysOf(await collect(fx.store.list('')))).toEqual([...keys].sort(byteOrder));
      // A driver loader GETs the literal key; '+' must not have turned into a space on the way in.
      if (fx.plainGet) for (const k of keys) expect(text(await fx.plainGet(k))).toBe(`body of ${k}`);
      expect(await fx.store.get('driver/7.0.0 driver/x86_64/a.ko')).toBeUndefined();
    });

    it('rejects unsafe keys before touching the backend', async () => {
      const { store } = await fresh();
      for (const bad of ['../x', '/abs', 'a//b', 'a/./b', '', 'a/..']) {
        await expect(store.put(bad, { bytes: bytes('x') }), bad).rejects.toBeInstanceOf(StorageError);
        await expect(store.get(bad), bad).rejects.toBeInstanceOf(StorageError);
        await expect(store.head(bad), bad).rejects.toBeInstanceOf(StorageError);
        await expect(store.delete([bad]), bad).rejects.toBeInstanceOf(StorageError);
      }
      await expect(collect(store.list('../up'))).rejects.toBeInstanceOf(StorageError);
      await expect(collect(store.listFolder('../up'))).rejects.toBeInstanceOf(StorageError);
      await expect(collect(store.listFolder('', 'a/b'))).rejects.toBeInstanceOf(StorageError);
      expect(await collect(store.list(''))).toEqual([]);
    });

    it('honours ifMatch: create-only, matching etag, stale etag', async () => {
      const { store } = await fresh();
      const created = await store.put('ptr', { bytes: bytes('v1') }, { ifMatch: '' });
      await expect(store.put('ptr', { bytes: bytes('v1b') }, { ifMatch: '' })).rejects.toBeInstanceOf(
        PreconditionError,
      );
      const etag = (await store.head('ptr'))!.etag!;
      expect(etag).toBe(created.etag);
      const updated = await store.put('ptr', { bytes: bytes('v2') }, { ifMatch: etag });
      await expect(store.put('ptr', { bytes: bytes('v3') }, { ifMatch: etag })).rejects.toBeInstanceOf(
        PreconditionError,
      );
      expect(text(await store.get('ptr'))).toBe('v2');
      expect((await store.head('ptr'))?.etag).toBe(updated.etag);
      await expect(store.put('absent', { bytes: bytes('x') }, { ifMatch: etag })).rejects.toBeInstanceOf(
        PreconditionError,
      );
      expect(await store.head('absent')).toBeUndefined();
      if (opts.conditionalWrites !== undefined) {
        const probe = (store as ObjectStore & { supportsConditionalWrites(): Promise<boolean> })
          .supportsConditionalWrites;
        expect(typeof probe).toBe('function');
        expect(await probe.call(store)).toBe(opts.conditionalWrites);
        // The probe cleans up after itself.
        expect((await collect(store.list(''))).map((o) => o.key)).toEqual(['ptr']);
      }
    });

    it('streams a file body from disk: small (single request) and ~20 MB (multipart)', async () => {
      const fx = await fresh();
      const small = join(tmp, `small-${n}`);
      const smallBody = randomBytes(300_000);
      await pipeline(async function* () {
        yield smallBody;
      }, createWriteStream(small));
      const smallInfo = await fx.store.put(
        'files/small.bin',
        { file: small, size: 300_000 },
        { contentType: 'application/octet-stream' },
      );
      expect(smallInfo.size).toBe(300_000);

      const big = join(tmp, `big-${n}`);
      const size = 20 * MiB + 12_345;
      const h = createHash('sha256');
      const whole = createHash('md5');
      await pipeline(async function* () {
        let left = size;
        while (left > 0) {
          const chunk = randomBytes(Math.min(left, MiB));
          h.update(chunk);
          whole.update(chunk);
          left -= chunk.length;
          yield chunk;
        }
      }, createWriteStream(big));
      const digest = h.digest('hex');
      const info = await fx.store.put(
        'files/big.bin',
        { file: big, size },
        {
          sha256: digest,
          contentType: 'application/octet-stream',
          cacheControl: 'public, max-age=31536000, immutable',
        },
      );
      expect(info.size).toBe(size);
      const back = await fx.store.getStream('files/big.bin');
      const rh = createHash('sha256');
      let got = 0;
      for await (const c of back!) {
        rh.update(c as Buffer);
        got += (c as Buffer).length;
      }
      expect(got).toBe(size);
      expect(rh.digest('hex')).toBe(digest);
      const head = await fx.store.head('files/big.bin');
      expect(head?.size).toBe(size);
      if (opts.keepsSha256) expect(head?.sha256).toBe(digest);
      if (opts.multipartEtag === 'whole-md5') expect(head?.etag).toBe(whole.digest('hex'));
      if (opts.multipartEtag === 'parts') expect(head?.etag).toMatch(/^[0-9a-f]{32}-[0-9]+$/);
      if (fx.rawHead)
        expect((await fx.rawHead('files/big.bin')).cacheControl).toBe('public, max-age=31536000, immutable');
      const smallBack = await fx.store.get('files/small.bin');
      expect(smallBack?.length).toBe(300_000);
      expect(md5(smallBack!)).toBe(md5(smallBody));
    }, 180_000);
  });
}
