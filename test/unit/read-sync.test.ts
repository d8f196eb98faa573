import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openArtifact, syncChunks } from '../../src/artifacts/open-file.js';
import { readRpmHeaders } from '../../src/artifacts/read-rpm.js';
import { readArtifact } from '../../src/artifacts/scan.js';
import type { ArtifactKind } from '../../src/artifacts/types.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

/**
 * Readers on a worker thread read synchronously into one reused buffer (artifacts/open-file.ts).
 * Here the thread check is switched per call, and every synchronous read returns at most 997
 * bytes, so headers, ar members and tar blocks all straddle chunks that the next read overwrites:
 * a reader keeping a view of a chunk instead of a copy gives a different answer or error.
 */
const ctl = vi.hoisted(() => ({ mainThread: true, maxRead: 997 }));
vi.mock('node:worker_threads', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:worker_threads')>();
  return {
    ...orig,
    get isMainThread() {
      return ctl.mainThread;
    },
  };
});
vi.mock('node:fs', async (importOriginal) => {
  const orig = await importOriginal<typeof import('node:fs')>();
  return {
    ...orig,
    readSync: (fd: number, buf: Uint8Array, off: number, len: number, pos: number | null) =>
      orig.readSync(fd, buf, off, Math.min(len, ctl.maxRead), pos),
  };
});

type Outcome = { ok: unknown } | { error: string };

async function outcome(path: string, kind: ArtifactKind, mainThread: boolean): Promise<Outcome> {
  ctl.mainThread = mainThread;
  try {
    return { ok: await readArtifact(path, kind) };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    ctl.mainThread = true;
  }
}

async function headersOutcome(path: string, mainThread: boolean): Promise<Outcome> {
  ctl.mainThread = mainThread;
  try {
    return { ok: await readRpmHeaders(path) };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    ctl.mainThread = true;
  }
}

const inputs: { kind: ArtifactKind; path: string }[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(scratchRoot, 'read-sync-'));
  const add = async (sub: string, kind: ArtifactKind, ext: string) => {
    const d = join(fixturesDir, sub);
    for (const f of (await readdir(d)).filter((n) => n.endsWith(ext)).sort())
      inputs.push({ kind, path: join(d, f) });
  };
  await add('deb', 'deb', '.deb');
  await add(join('deb', 'big'), 'deb', '.deb');
  await add('rpm', 'rpm', '.rpm');
  await add('bin', 'tarball', '.tar.gz');
  await add(join('driver', '7.0.0+driver', 'x86_64'), 'driver', '.ko');
  await add(join('driver', '7.0.0+driver', 'x86_64'), 'driver', '.o');
});

describe('synchronous reads (worker threads)', () => {
  it('give every fixture the same artifact as a streamed read', async () => {
    expect(inputs.length).toBeGreaterThanOrEqual(20);
    for (const { path, kind } of inputs) {
      const streamed = await outcome(path, kind, true);
      expect(streamed, path).toHaveProperty('ok');
      expect(await outcome(path, kind, false), path).toEqual(streamed);
    }
  });

  it('refuse cut and damaged copies with the same message as a streamed read', async () => {
    let refused = 0;
    for (const { path, kind } of inputs.filter((_, i) => i % 2 === 0)) {
      const bytes = await readFile(path);
      const folder = kind === 'driver' ? join(dir, '7.0.0+driver', 'x86_64') : dir;
      await import('node:fs/promises').then((m) => m.mkdir(folder, { recursive: true }));
      const target = join(folder, path.split('/').pop()!);
      const damaged = Buffer.from(bytes);
      damaged[Math.floor(damaged.length / 3)]! ^= 0xff;
      for (const variant of [
        bytes.subarray(0, Math.floor(bytes.length / 2)),
        bytes.subarray(0, 700),
        damaged,
      ]) {
        await writeFile(target, variant);
        const streamed = await outcome(target, kind, true);
        if ('error' in streamed) refused++;
        expect(await outcome(target, kind, false), `${target} (${variant.length} bytes)`).toEqual(streamed);
      }
    }
    // Cut copies of packages must be refused, or this compares nothing but successes.
    expect(refused).toBeGreaterThanOrEqual(10);
  });
});

describe('rpm headers alone', () => {
  it('read the same synchronously as streamed, whole or cut', async () => {
    const rpms = inputs.filter((i) => i.kind === 'rpm');
    expect(rpms.length).toBeGreaterThanOrEqual(5);
    let refused = 0;
    for (const { path } of rpms) {
      const bytes = await readFile(path);
      const variants = [bytes, bytes.subarray(0, 700), bytes.subarray(0, bytes.length - 1)];
      for (const [i, variant] of variants.entries()) {
        const target = join(dir, `headers-${i}-${path.split('/').pop()}`);
        await writeFile(target, variant);
        const streamed = await headersOutcome(target, true);
        if ('error' in streamed) refused++;
        expect(await headersOutcome(target, false), `${target}`).toEqual(streamed);
      }
    }
    // Both cut copies of every rpm must be refused, or this compares nothing but successes.
    expect(refused).toBe(rpms.length * 2);
  });
});

describe('syncChunks', () => {
  it('yields the whole file from an offset, reusing one buffer when asked', async () => {
    const path = join(fixturesDir, 'deb', 'big', 'bigpkg_1.0-1_amd64.deb');
    const whole = await readFile(path);
    const copies: Buffer[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (const c of syncChunks(path, 5, true)) {
      copies.push(Buffer.from(c));
      buffers.add(c.buffer);
    }
    expect(Buffer.concat(copies).equals(whole.subarray(5))).toBe(true);
    expect(copies.length).toBeGreaterThan(10);
    expect(buffers.size).toBe(1);
  });

  it('never hands one buffer to two reads at once, and reuses it once a read is over', async () => {
    const path = join(fixturesDir, 'deb', 'big', 'bigpkg_1.0-1_amd64.deb');
    const whole = await readFile(path);
    const a = syncChunks(path, 0, true);
    const b = syncChunks(path, 0, true);
    const got = { a: [] as Buffer[], b: [] as Buffer[] };
    const seen = { a: new Set<ArrayBufferLike>(), b: new Set<ArrayBufferLike>() };
    // Interleaved as a worker interleaves its two jobs: each chunk is copied before the other read runs.
    for (let ra = a.next(), rb = b.next(); !ra.done || !rb.done; ra = a.next(), rb = b.next()) {
      if (!ra.done) {
        got.a.push(Buffer.from(ra.value));
        seen.a.add(ra.value.buffer);
      }
      if (!rb.done) {
        got.b.push(Buffer.from(rb.value));
        seen.b.add(rb.value.buffer);
      }
    }
    expect(Buffer.concat(got.a).equals(whole)).toBe(true);
    expect(Buffer.concat(got.b).equals(whole)).toBe(true);
    expect([...seen.a].some((x) => seen.b.has(x))).toBe(false);
    // Both are done, so a third read takes one of their buffers instead of a new one.
    const third = syncChunks(path, 0, true);
    const c = third.next();
    third.return(undefined);
    expect(c.done).toBe(false);
    expect(seen.a.has(c.value!.buffer) || seen.b.has(c.value!.buffer)).toBe(true);
  });

  it('closes the file when the reader stops early', async () => {
    const path = join(fixturesDir, 'deb', 'big', 'bigpkg_1.0-1_amd64.deb');
    const before = (await readdir('/proc/self/fd')).length;
    const opened = await openArtifact(path, { sync: true, reuse: true });
    for (const _ of opened.chunks as Iterable<Buffer>) break;
    const again = await openArtifact(path, { sync: true });
    opened.close();
    again.close();
    expect((await readdir('/proc/self/fd')).length).toBe(before);
    expect((await stat(path)).size).toBe(opened.size);
  });
});
