import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticServer } from '../../src/serve/static-server.js';
import { scratchRoot } from '../support/paths.js';

let dir: string;
let server: Server;
let port: number;

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  dir = await mkdtemp(join(scratchRoot, 'serve-'));
  await mkdir(join(dir, 'tree', 'packages', 'deb'), { recursive: true });
  await writeFile(join(dir, 'tree', 'index.html'), 'root listing');
  await writeFile(join(dir, 'tree', 'packages', 'deb', 'index.html'), 'deb listing');
  await writeFile(join(dir, 'outside.txt'), 'not published');
  server = createStaticServer(join(dir, 'tree'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** A GET with the request target sent exactly as given (fetch would normalise it). */
function get(target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('pkgpub serve on odd request targets', () => {
  it('answers doubled slashes as the folder they name, never with a server error', async () => {
    expect(await get('//')).toEqual({ status: 200, body: 'root listing' });
    expect(await get('//packages//deb/')).toEqual({ status: 200, body: 'deb listing' });
  });

  it('takes a proxy-style absolute target by its path', async () => {
    expect(await get('http://example.invalid/packages/deb/')).toEqual({ status: 200, body: 'deb listing' });
  });

  it('never serves what lies outside the tree, encoded or not', async () => {
    for (const t of ['/../outside.txt', '/%2e%2e/outside.txt', '/..%2foutside.txt', '//..//outside.txt']) {
      const res = await get(t);
      expect(res.status, t).toBeGreaterThanOrEqual(400);
      expect(res.status, t).toBeLessThan(500);
      expect(res.body, t).not.toContain('not published');
    }
  });

  it('refuses a malformed percent-encoding with 400', async () => {
    expect((await get('/%E0%A4%A')).status).toBe(400);
  });
});
