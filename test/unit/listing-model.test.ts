import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve.js';
import { bytesFile } from '../../src/model/output-file.js';
import { makePlan, type Plan } from '../../src/model/plan.js';
import { buildListings, rebuildAllListings } from '../../src/site/build-site.js';
import {
  applyChanges,
  type FilePut,
  type Listing,
  type ListingChanges,
  parseListing,
  serializeListing,
} from '../../src/site/listing-model.js';
import { loadSiteTemplates, renderFolderPages } from '../../src/site/render-listing.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { putOutput } from '../../src/transaction/apply.js';
import { scratchRoot } from '../support/paths.js';

const T0 = '2024-05-01T10:00:00.000Z';

function put(key: string, size: number, lastModified = T0, sha256?: string): FilePut {
  return { key, size, lastModified, ...(sha256 ? { sha256 } : {}) };
}

/** Applies batches one after another, feeding each result's listings back as the state. */
function incremental(batches: ListingChanges[]): Map<string, Listing> {
  const state = new Map<string, Listing>();
  for (const b of batches) {
    const r = applyChanges(state, b);
    for (const [f, l] of r.listings) state.set(f, l);
    for (const f of r.removed) state.delete(f);
  }
  return state;
}

/** The final contents as one batch of puts on an empty state. */
function fromScratch(files: Map<string, FilePut>): Map<string, Listing> {
  const r = applyChanges(new Map(), { puts: [...files.values()], deletes: [] });
  if (!r.listings.has('')) r.listings.set('', { path: '', entries: [] });
  return r.listings;
}

describe('applyChanges', () => {
  it('creates folder entries up to the root with totals and newest times', () => {
    const r = applyChanges(new Map(), {
      puts: [
        put('packages/deb/stable/a.deb', 100, '2024-05-01T10:00:00.000Z'),
        put('packages/deb/stable/a.deb.asc', 10, '2024-05-01T11:00:00.000Z'),
        put('packages/rpm/b.rpm', 7),
        put('README', 3),
      ],
      deletes: [],
    });
    expect(r.changed).toEqual(['packages/deb/stable/', 'packages/deb/', 'packages/rpm/', 'packages/', '']);
    const root = r.listings.get('')!;
    expect(root.entries.map((e) => [e.name, e.type, e.size])).toEqual([
      ['packages', 'dir', 117],
      ['README', 'file', 3],
    ]);
    const stable = r.listings.get('packages/deb/stable/')!;
    expect(stable.entries.find((e) => e.name === 'a.deb')?.asc).toBe(true);
    expect(r.listings.get('packages/deb/')!.entries[0]).toMatchObject({
      name: 'stable',
      size: 110,
      lastModified: '2024-05-01T11:00:00.000Z',
    });
  });

  it('sorts folders first, then names by code point', () => {
    const r = applyChanges(new Map(), {
      puts: [put('b', 1), put('A/x', 1), put('a', 1), put('c/y', 1), put('B', 1)],
      deletes: [],
    });
    expect(r.listings.get('')!.entries.map((e) => e.name)).toEqual(['A', 'c', 'B', 'a', 'b']);
  });

  it('drops a folder that became empty from its parent, up the chain', () => {
    const state = incremental([{ puts: [put('x/y/z/f', 5), put('x/keep', 1)], deletes: [] }]);
    const r = applyChanges(state, { puts: [], deletes: ['x/y/z/f'] });
    expect(r.removed).toEqual(['x/y/z/', 'x/y/']);
    expect(r.listings.get('x/')!.entries.map((e) => e.name)).toEqual(['keep']);
    expect(r.listings.get('')!.entries).toEqual([{ name: 'x', type: 'dir', size: 1, lastModified: T0 }]);
  });

  it('drops the asc flag when the signature goes, and never lists listing outputs', () => {
    const state = incremental([{ puts: [put('d/a.deb', 5), put('d/a.deb.asc', 1)], deletes: [] }]);
    const r = applyChanges(state, {
      puts: [put('d/listing.json', 9), put('d/index-2.html', 9), put('_site/style.css', 9)],
      deletes: ['d/a.deb.asc'],
    });
    expect(r.listings.get('d/')!.entries).toEqual([
      { name: 'a.deb', type: 'file', size: 5, lastModified: T0 },
    ]);
    expect(r.listings.get('')!.entries.map((e) => e.name)).toEqual(['d']);
  });

  it('incremental batches equal a rebuild from the final contents (property)', () => {
    const seg = fc.constantFrom('a', 'b', 'c+d', 'é', 'x y');
    const keyArb = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
    const op = fc.record({
      key: keyArb,
      del: fc.boolean(),
      size: fc.nat(1000),
      t: fc.integer({ min: 0, max: 1e6 }),
      asc: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 8 }), { maxLength: 6 }), (batches) => {
        // A key is either a file or a folder for the whole run, as in a real tree.
        const files = new Map<string, FilePut>();
        const folders = new Set<string>();
        const runs: ListingChanges[] = [];
        for (const b of batches) {
          // As in a plan: within one publish a key is written or deleted, never both.
          const last = new Map<string, FilePut | null>();
          for (const o of b) {
            const keys = o.asc ? [o.key, `${o.key}.asc`] : [o.key];
            for (const key of keys) {
              const parts = key.split('/');
              const clash =
                folders.has(key) ||
                parts.slice(0, -1).some((_, i) => files.has(parts.slice(0, i + 1).join('/')));
              if (clash) continue;
              if (o.del) {
                last.set(key, null);
                files.delete(key);
              } else {
                const p = put(key, o.size, new Date(o.t * 1000).toISOString());
                last.set(key, p);
                files.set(key, p);
                for (let i = 1; i < parts.length; i++) folders.add(parts.slice(0, i).join('/'));
              }
            }
          }
          const changes: ListingChanges = { puts: [], deletes: [] };
          for (const [key, p] of last) {
            if (p) changes.puts.push(p);
            else changes.deletes.push(key);
          }
          runs.push(changes);
        }
        const inc = incremental(runs);
        const full = fromScratch(files);
        // Folders that emptied out may linger in `folders` above, but never in either listing set.
        if (!inc.has('')) inc.set('', { path: '', entries: [] });
        const strip = (m: Map<string, Listing>) =>
          [...m.entries()]
            .filter(([, l]) => l.path === '' || l.entries.length > 0)
            .map(([f, l]) => [f, l.entries] as const)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        expect(strip(inc)).toEqual(strip(full));
      }),
      { numRuns: 300 },
    );
  });

  it('listing.json round-trips and rejects what is not ours', () => {
    const r = applyChanges(new Map(), {
      puts: [put('p/a.deb', 5, T0, 'ab'.repeat(32)), put('p/a.deb.asc', 1)],
      deletes: [],
    });
    const l = { ...r.listings.get('p/')!, pages: 2, html: 'index' as const };
    const text = serializeListing(l);
    expect(JSON.parse(text)).toEqual(l);
    expect(parseListing('p/', new TextEncoder().encode(text))).toEqual(l);
    expect(parseListing('q/', new TextEncoder().encode(text))).toBeUndefined();
    expect(
      parseListing('p/', new TextEncoder().encode('{"path":"p/","entries":[{"name":"../x","type":"file"}]}')),
    ).toBeUndefined();
    expect(parseListing('p/', new TextEncoder().encode('not json'))).toBeUndefined();
  });
});

describe('rendering', () => {
  // A '/' in a key makes a folder: '<script>alert(1)</script>.deb' is folder '<script>alert(1)<'
  // holding 'script>.deb', and both halves must come out as text.
  const evil = [
    '<script>alert(1)</script>.deb',
    `a"b'.rpm`,
    '<img src=x onerror=alert(2)>',
    'x&amp;y#?+%.deb',
  ];

  it('escapes names in text and attributes and percent-encodes hrefs', async () => {
    const t = await loadSiteTemplates();
    const r = applyChanges(new Map(), {
      puts: [...evil.map((n) => put(`p/${n}`, 12)), put('p/<b>dir/f', 1), put('p/a"b\'.rpm.asc', 1)],
      deletes: [],
    });
    const [page] = renderFolderPages(t, r.listings.get('p/')!, { project: '<i>proj</i>' });
    const [sub] = renderFolderPages(t, r.listings.get('p/<script>alert(1)</')!, { project: 'p' });
    const html = page!.html;
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<i>proj</i>');
    expect(html).not.toContain('<b>dir');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/</a>');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;</a>');
    expect(sub!.html).toContain('>script&gt;.deb</a>');
    expect(sub!.html).toContain('<h1>Index of /p/&lt;script&gt;alert(1)&lt;/</h1>');
    expect(sub!.html).not.toContain('<script>alert');
    // The only <script> elements are the ones the template writes (the external listing.js).
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).toContain('href="%3Cscript%3Ealert%281%29%3C/index.html"');
    expect(sub!.html).toContain('href="script%3E.deb"');
    expect(html).toContain('href="x%26amp%3By%23%3F%2B%25.deb"');
    expect(html).toContain('href="a%22b%27.rpm.asc"');
    expect(html).toContain('href="%3Cb%3Edir/index.html"');
    // Every attribute value is double-quoted and holds no raw double quote.
    for (const m of html.matchAll(/ (href|title|data-name)=("[^"]*"|[^\s>]+)/g))
      expect(m[2]!.startsWith('"')).toBe(true);
    expect(html).toContain('Content-Security-Policy');
  });

  it('paginates big folders with prev/next links, every entry on exactly one page', async () => {
    const t = await loadSiteTemplates();
    const names = Array.from({ length: 25 }, (_, i) => `f${String(i).padStart(3, '0')}.ko`);
    const r = applyChanges(new Map(), { puts: names.map((n) => put(`big/${n}`, 1)), deletes: [] });
    const pages = renderFolderPages(t, r.listings.get('big/')!, { project: 'p', pageSize: 10 });
    expect(pages.map((p) => p.name)).toEqual(['index.html', 'index-2.html', 'index-3.html']);
    const seen = pages.flatMap((p) => [...p.html.matchAll(/data-name="([^"]+)"/g)].map((m) => m[1]));
    expect(seen).toEqual(names);
    expect(pages[0]!.html).toContain('href="index-2.html" rel="next"');
    expect(pages[1]!.html).toContain('href="index.html" rel="prev"');
    expect(pages[1]!.html).toContain('href="index-3.html" rel="next"');
    expect(pages[2]!.html).not.toContain('rel="next"');
  });
});

describe('buildListings against a store', () => {
  let dir: string;
  const cfg = resolveConfig({ project: 'falco', base_url: 'https://download.example.org' });
  beforeAll(async () => {
    dir = await mkdtemp(join(scratchRoot, 'listings-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function publishFiles(
    store: FsStore,
    files: Record<string, string>,
    deletes: string[],
    now: Date,
    pageSize?: number,
  ) {
    const outs = Object.entries(files).map(([k, v]) => bytesFile(k, 'blob', v));
    const plan: Plan = makePlan(outs, new Map(), deletes);
    for (const o of outs) await putOutput(store, o);
    await store.delete(deletes);
    const res = await buildListings({ store, cfg, plan, now, ...(pageSize ? { pageSize } : {}) });
    for (const f of res.files) await putOutput(store, f);
    await store.delete(res.deletes);
    return res;
  }

  it('renders only touched folders, keeps sha256s, and matches a full rebuild', async () => {
    const store = new FsStore(join(dir, 'tree'));
    const t1 = new Date('2024-05-01T10:00:00Z');
    const r1 = await publishFiles(
      store,
      {
        'packages/deb/stable/falco_0.39.0_amd64.deb': 'deb bytes',
        'packages/deb/stable/falco_0.39.0_amd64.deb.asc': 'sig',
        'packages/rpm/falco-0.39.0.x86_64.rpm': 'rpm bytes!',
        'driver/7.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko': 'ko',
      },
      [],
      t1,
    );
    expect(r1.folders.sort()).toEqual(
      [
        '',
        'driver/',
        'driver/7.0.0+driver/',
        'driver/7.0.0+driver/x86_64/',
        'packages/',
        'packages/deb/',
        'packages/deb/stable/',
        'packages/rpm/',
      ].sort(),
    );
    const r2 = await publishFiles(
      store,
      { 'packages/rpm/falco-0.40.0.x86_64.rpm': 'newer rpm' },
      [],
      new Date('2024-05-02T10:00:00Z'),
    );
    expect(r2.folders).toEqual(['packages/rpm/', 'packages/', '']);
    const rpm = parseListing('packages/rpm/', await store.get('packages/rpm/listing.json'))!;
    expect(rpm.entries.map((e) => e.name)).toEqual(['falco-0.39.0.x86_64.rpm', 'falco-0.40.0.x86_64.rpm']);
    expect(rpm.entries[1]!.sha256).toBe(bytesFile('x', 'blob', 'newer rpm').sha256);

    // Removing the last file of a folder removes its listing files and its row in the parent.
    const r3 = await publishFiles(
      store,
      {},
      ['driver/7.0.0+driver/x86_64/falco_ubuntu-generic_5.15.0-91-generic_101.ko'],
      new Date('2024-05-03T10:00:00Z'),
    );
    expect(r3.deletes).toEqual(
      expect.arrayContaining([
        'driver/7.0.0+driver/x86_64/index.html',
        'driver/7.0.0+driver/listing.json',
        'driver/index.html',
      ]),
    );
    const root = parseListing('', await store.get('listing.json'))!;
    expect(root.entries.map((e) => e.name)).toEqual(['packages']);
    expect(await store.head('driver/index.html')).toBeUndefined();

    // A rebuild from the store sees the same names, sizes and digests.
    const rebuilt = await rebuildAllListings(store, cfg, new Date());
    for (const f of rebuilt.files.filter((x) => x.key.endsWith('listing.json'))) {
      const folder = f.key.slice(0, -'listing.json'.length);
      const inc = parseListing(folder, await store.get(f.key))!;
      const full = parseListing(folder, 'bytes' in f.body ? f.body.bytes : undefined)!;
      const shape = (l: Listing) => l.entries.map((e) => [e.name, e.type, e.size, e.sha256, e.asc]);
      expect(shape(full)).toEqual(shape(inc));
    }
    expect(rebuilt.deletes).toEqual([]);
  });

  it('drops extra pages when a folder shrinks, and leaves a foreign index.html alone', async () => {
    const store = new FsStore(join(dir, 'pages'));
    const many = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`d/f${i}`, 'x']));
    const r1 = await publishFiles(
      store,
      { ...many, 'driver/site/index.html': '<p>driver browser</p>' },
      [],
      new Date(),
      3,
    );
    expect(r1.files.map((f) => f.key)).toEqual(
      expect.arrayContaining(['d/index.html', 'd/index-2.html', 'd/index-3.html']),
    );
    expect(r1.files.map((f) => f.key)).toContain('driver/site/listing.html');
    expect(r1.files.map((f) => f.key)).not.toContain('driver/site/index.html');
    const r2 = await publishFiles(store, {}, ['d/f0', 'd/f1', 'd/f2', 'd/f3'], new Date(), 3);
    expect(r2.deletes).toEqual(['d/index-2.html', 'd/index-3.html']);
    const rebuilt = await rebuildAllListings(store, cfg, new Date(), undefined, { pageSize: 3 });
    expect(rebuilt.files.map((f) => f.key)).not.toContain('driver/site/index.html');
    const site = rebuilt.files.find((f) => f.key === 'driver/site/listing.json')!;
    expect(new TextDecoder().decode('bytes' in site.body ? site.body.bytes : new Uint8Array())).toContain(
      '"index.html"',
    );
  });
});
