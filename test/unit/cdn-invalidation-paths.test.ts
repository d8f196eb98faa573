import { describe, expect, it } from 'vitest';
import {
  encodePath,
  invalidationPaths,
  normalizePathsPrefix,
  staleKeys,
} from '../../src/cdn/invalidation-paths.js';
import { invalidateApplied, plannedInvalidation } from '../../src/cdn/invalidator.js';
import { bytesFile } from '../../src/model/output-file.js';
import { makePlan } from '../../src/model/plan.js';
import type { Tier } from '../../src/model/tiers.js';

const file = (key: string, tier: Tier, body = key, immutable = false) => ({
  ...bytesFile(key, tier, body),
  ...(immutable ? { immutable: true } : {}),
});
const existing = (...files: { key: string }[]) =>
  new Map(files.map((f) => [f.key, { size: 1, sha256: 'old' }] as const));

describe('staleKeys', () => {
  it('takes in-place tiers and deletes, never new blobs or content-addressed files', () => {
    const outputs = [
      file('packages/deb/stable/a_1_amd64.deb', 'blob', 'a', true),
      file('packages/deb/dists/stable/by-hash/SHA256/abc', 'content-addressed'),
      file('packages/deb/dists/stable/main/binary-amd64/Packages', 'index'),
      file('packages/deb/dists/stable/InRelease', 'pointer'),
      file('packages/deb/index.html', 'listing'),
      file('.pkgpub-garbage.json', 'listing'),
    ];
    const plan = makePlan(outputs, new Map(), ['packages/deb/dists/stable/by-hash/SHA256/old']);
    expect(staleKeys(plan)).toEqual([
      'packages/deb/dists/stable/InRelease',
      'packages/deb/dists/stable/by-hash/SHA256/old',
      'packages/deb/dists/stable/main/binary-amd64/Packages',
      'packages/deb/index.html',
    ]);
  });

  it('takes a blob replaced in place under --force, and skips what is unchanged', () => {
    const blob = file('bin/x86_64/falco.tar.gz', 'blob', 'new bytes', true);
    const same = file('packages/deb/dists/stable/Release', 'pointer');
    const plan = makePlan(
      [blob, same],
      new Map([
        [blob.key, { size: 1, sha256: 'other' }],
        [same.key, { size: same.size, sha256: same.sha256 }],
      ]),
      [],
      { force: true },
    );
    expect(staleKeys(plan)).toEqual(['bin/x86_64/falco.tar.gz']);
  });

  it('is empty for an empty plan', () => {
    expect(staleKeys(makePlan([], existing(), []))).toEqual([]);
  });
});

describe('encodePath', () => {
  it('keeps + and the characters RFC 1738 leaves alone', () => {
    expect(encodePath('/driver/7.0.0+driver/x86_64/falco_5.10.0-28+deb11u1_1.ko')).toBe(
      '/driver/7.0.0+driver/x86_64/falco_5.10.0-28+deb11u1_1.ko',
    );
    expect(encodePath("/a/b-c_d.e!$&'()*,;=:@")).toBe("/a/b-c_d.e!$&'()*,;=:@");
  });

  it('percent-encodes unsafe, control and non-ASCII characters as UTF-8, upper-case hex', () => {
    expect(encodePath('/a b/c"d#e%f<g>h[i]j^k`l{m|n}o~p\\q?r')).toBe(
      '/a%20b/c%22d%23e%25f%3Cg%3Eh%5Bi%5Dj%5Ek%60l%7Bm%7Cn%7Do%7Ep%5Cq%3Fr',
    );
    expect(encodePath('/ü/日\t')).toBe('/%C3%BC/%E6%97%A5%09');
  });
});

describe('invalidationPaths', () => {
  it('puts the prefix in front of each key; the root listing also invalidates the bare prefix', () => {
    expect(invalidationPaths(['index.html', 'packages/deb/index.html'], '/')).toEqual([
      '/',
      '/index.html',
      '/packages/deb/index.html',
    ]);
    expect(invalidationPaths(['packages/rpm/repodata/repomd.xml'], 'downloads/falco')).toEqual([
      '/downloads/falco/packages/rpm/repodata/repomd.xml',
    ]);
    expect(invalidationPaths([], '/x')).toEqual([]);
  });

  it('normalizes the prefix', () => {
    expect(normalizePathsPrefix('')).toBe('/');
    expect(normalizePathsPrefix('/')).toBe('/');
    expect(normalizePathsPrefix('a/b')).toBe('/a/b/');
    expect(normalizePathsPrefix('//a/b//')).toBe('/a/b/');
  });

  it('covers a key with a literal * by a wildcard from that point on', () => {
    expect(invalidationPaths(['odd/na*me.txt'], '/')).toEqual(['/odd/na*']);
  });

  it('stays exact up to the limit', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `site/f${i}/listing.json`);
    const paths = invalidationPaths(keys, '/');
    expect(paths).toHaveLength(1000);
    expect(paths.some((p) => p.endsWith('*'))).toBe(false);
  });

  it('above the limit, collapses the fullest folders first, as deep as it can', () => {
    const big = Array.from({ length: 1500 }, (_, i) => `driver/7.0.0+driver/x86_64/k${i}.ko`);
    const small = ['packages/deb/dists/stable/InRelease', 'packages/deb/dists/stable/Release'];
    const paths = invalidationPaths([...big, ...small], '/pfx/');
    expect(paths).toEqual([
      '/pfx/driver/7.0.0+driver/x86_64/*',
      '/pfx/packages/deb/dists/stable/InRelease',
      '/pfx/packages/deb/dists/stable/Release',
    ]);
  });

  it('goes up a level when the wildcard budget cannot cover enough at the deepest one', () => {
    // 20 leaf folders of 60 keys, 10 under each of site/g0 and site/g1: 1200 keys. Four leaf
    // wildcards bring it to 960 + 4; with only three allowed (1020 + 3) it must use site/g0/*.
    const keys = Array.from({ length: 1200 }, (_, i) => `site/g${i % 2}/f${i % 20}/k${i}.json`);
    const leaves = invalidationPaths(keys, '/', { maxPaths: 1000, maxWildcards: 10 });
    expect(leaves.filter((p) => p.endsWith('*'))).toEqual([
      '/site/g0/f0/*',
      '/site/g0/f10/*',
      '/site/g0/f12/*',
      '/site/g0/f14/*',
    ]);
    expect(leaves).toHaveLength(960 + 4);
    const parents = invalidationPaths(keys, '/', { maxPaths: 1000, maxWildcards: 3 });
    expect(parents.filter((p) => p.endsWith('*'))).toEqual(['/site/g0/*']);
    expect(parents).toHaveLength(601);
  });

  it('falls back to the prefix wildcard when no folder level fits', () => {
    const keys = Array.from({ length: 20 }, (_, i) => `top${i}.json`);
    expect(invalidationPaths(keys, '/dl', { maxPaths: 5, maxWildcards: 2 })).toEqual(['/dl/*']);
  });

  it('never exceeds the limits (random trees)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      let x = seed;
      const rnd = (n: number) => {
        x = (x * 1103515245 + 12345) % 2147483648;
        return x % n;
      };
      const keys = Array.from({ length: 200 + rnd(3000) }, (_, i) =>
        Array.from({ length: 1 + rnd(4) }, () => `d${rnd(6)}`)
          .concat(`f${i}`)
          .join('/'),
      );
      const limits = { maxPaths: 50 + rnd(500), maxWildcards: 1 + rnd(10) };
      const paths = invalidationPaths(keys, '/', limits);
      expect(paths.length).toBeLessThanOrEqual(limits.maxPaths);
      const wild = paths.filter((p) => p.endsWith('*')).map((p) => p.slice(1, -1));
      if (!(wild.length === 1 && wild[0] === ''))
        expect(wild.length).toBeLessThanOrEqual(limits.maxWildcards);
      // Every key is covered by an exact path or a wildcard.
      const exact = new Set(paths);
      for (const k of keys) expect(exact.has(`/${k}`) || wild.some((w) => k.startsWith(w))).toBe(true);
    }
  });
});

describe('invalidateApplied', () => {
  const plan = makePlan([file('packages/deb/dists/stable/InRelease', 'pointer')], new Map(), []);

  it('sends the paths once and returns the id', async () => {
    const sent: string[][] = [];
    const cdn = {
      description: 'test CDN',
      pathsPrefix: '/p/',
      invalidate: async (paths: string[]) => {
        sent.push(paths);
        return { id: 'I1' };
      },
    };
    expect(await invalidateApplied(cdn, plan)).toEqual({
      status: 'sent',
      target: 'test CDN',
      id: 'I1',
      paths: ['/p/packages/deb/dists/stable/InRelease'],
    });
    expect(sent).toHaveLength(1);
    expect(plannedInvalidation(cdn, plan)?.status).toBe('dry-run');
    expect(await invalidateApplied(cdn, makePlan([], new Map(), []))).toBeUndefined();
    expect(sent).toHaveLength(1);
  });

  it("also invalidates what an optimistic publish's earlier, conflicted attempts planned", () => {
    const cdn = { description: 'test CDN', pathsPrefix: '/', invalidate: async () => ({ id: 'x' }) };
    // The first attempt rewrote Packages and InRelease, then lost a race; the last one found the
    // indexes in place and only re-rendered a listing.
    const first = makePlan(
      [
        file('packages/deb/dists/stable/main/binary-amd64/Packages', 'index'),
        file('packages/deb/dists/stable/InRelease', 'pointer'),
        file('packages/deb/stable/new_1_amd64.deb', 'blob', 'n', true),
      ],
      new Map(),
      [],
    );
    const last = makePlan([file('packages/deb/index.html', 'listing')], new Map(), []);
    expect(plannedInvalidation(cdn, last)?.paths).toEqual(['/packages/deb/index.html']);
    expect(plannedInvalidation(cdn, last, [first])?.paths).toEqual([
      '/packages/deb/dists/stable/InRelease',
      '/packages/deb/dists/stable/main/binary-amd64/Packages',
      '/packages/deb/index.html',
    ]);
  });

  it('turns a failure into a one-line reason instead of throwing', async () => {
    const err = Object.assign(new Error('User is not\nauthorized'), {
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    const cdn = { description: 'test CDN', pathsPrefix: '/', invalidate: async () => Promise.reject(err) };
    expect(await invalidateApplied(cdn, plan)).toEqual({
      status: 'failed',
      target: 'test CDN',
      paths: ['/packages/deb/dists/stable/InRelease'],
      reason: 'AccessDenied: User is not authorized (HTTP 403)',
    });
  });
});
