import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, normalize, resolve, sep } from 'node:path';
import { contentTypeFor } from '../model/output-file.js';

/**
 * `pkgpub serve DIR`: a static server for a published tree. Keys may hold a literal '+'
 * (driver versions like 7.0.0+driver); clients send it raw or as %2B and both must work, so
 * the path is percent-decoded but '+' is never read as a space.
 */
export function createStaticServer(root: string, log?: (line: string) => void): Server {
  const base = resolve(root);
  return createServer((req, res) => {
    handle(base, req, res)
      .catch(() => send(res, 500, 'internal error'))
      .finally(() => log?.(`${req.method} ${req.url} ${res.statusCode}`));
  });
}

async function handle(base: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
  let url: URL;
  let path: string;
  try {
    // Appended, not resolved against a base: `GET //` would otherwise read as a URL with an empty
    // host and throw. A proxy's absolute form (GET http://host/path) is parsed as it is.
    const raw = req.url ?? '/';
    url = new URL(raw.startsWith('/') ? `http://localhost${raw}` : raw);
    path = decodeURIComponent(url.pathname);
  } catch {
    return send(res, 400, 'bad path');
  }
  // Old bucket-listing links (?prefix=packages/deb/) lead to that folder's listing.
  const prefix = url.searchParams.get('prefix');
  if (path === '/' && prefix) {
    const target = `/${prefix.replace(/^\/+/, '')}`.split('/').map(encodeURIComponent).join('/');
    res.writeHead(302, { location: target.endsWith('/') ? target : `${target}/` });
    return void res.end();
  }
  if (path.includes('\0')) return send(res, 400, 'bad path');
  const file = normalize(join(base, path));
  if (file !== base && !file.startsWith(base + sep)) return send(res, 403, 'forbidden');
  let st = await stat(file).catch(() => undefined);
  let target = file;
  if (st?.isDirectory()) {
    if (!url.pathname.endsWith('/')) {
      res.writeHead(301, { location: `${url.pathname}/${url.search}` });
      return void res.end();
    }
    target = join(file, 'index.html');
    st = await stat(target).catch(() => undefined);
  }
  if (!st?.isFile()) return send(res, 404, 'not found');
  res.writeHead(200, {
    'content-type': contentTypeFor(target),
    'content-length': st.size,
    'last-modified': st.mtime.toUTCString(),
    'cache-control': 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(target).pipe(res);
}

function send(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
