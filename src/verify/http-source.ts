import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError } from '../errors.js';
import type { SiteSource } from './site-source.js';

/** Attempts per request: a flaky origin (5xx, a reset connection) is retried before a file counts as missing. */
const ATTEMPTS = 4;
/** Redirects a HEAD follows, as fetch's `redirect: 'follow'` does (it allows 20; 5 is plenty for a site). */
const REDIRECTS = 5;

interface Head {
  status: number;
  headers: IncomingHttpHeaders;
}

/**
 * A site over HTTP(S), fetched the way apt, dnf and driver loaders fetch it: every path segment
 * percent-encoded (so a `+` travels as `%2B`), redirects followed.
 */
export function httpSource(base: string, opts: { retryDelayMs?: number } = {}): SiteSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const delay = opts.retryDelayMs ?? 200;
  const urlOf = (key: string) => root + key.split('/').map(encodeURIComponent).join('/');
  // HEADs go through node:http on kept-alive sockets, not fetch(): a site of 100,000 drivers is
  // 100,000 HEADs. bench/verify.ts over pkgpub serve (105,043 requests): 84 s of CPU with fetch(),
  // 16 s with node:http.
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
  };

  /** One HEAD, redirects followed; rejects on a network fault. */
  function head(url: string, redirects = REDIRECTS): Promise<Head> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      const req = (secure ? httpsRequest : httpRequest)(
        u,
        { method: 'HEAD', agent: secure ? agents.https : agents.http },
        (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          const location = res.headers.location;
          if ([301, 302, 303, 307, 308].includes(status) && location) {
            if (redirects === 0) return reject(new Error(`more than ${REDIRECTS} redirects`));
            return resolve(head(new URL(location, u).href, redirects - 1));
          }
          resolve({ status, headers: res.headers });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /** HEAD's answer, or undefined for 404/403/410; throws after the last attempt at a server fault. */
  async function headOf(url: string): Promise<Head | undefined> {
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const res = await head(url);
        if (res.status === 404 || res.status === 403 || res.status === 410) return undefined;
        if (res.status >= 200 && res.status < 300) return res;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
      if (attempt < ATTEMPTS) await sleep(delay * 2 ** (attempt - 1));
    }
    throw new StorageError(`HEAD ${url} failed ${ATTEMPTS} times (last: ${last})`);
  }

  /** A response, or undefined for 404/403/410; throws after the last attempt at a server fault. */
  async function request(url: string, method: 'GET'): Promise<Response | undefined> {
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const res = await fetch(url, { method, redirect: 'follow' });
        if (res.status === 404 || res.status === 403 || res.status === 410) {
          await res.body?.cancel();
          return undefined;
        }
        if (res.ok) return res;
        last = `HTTP ${res.status}`;
        await res.body?.cancel();
      } catch (err) {
        last = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      }
      if (attempt < ATTEMPTS) await sleep(delay * 2 ** (attempt - 1));
    }
    throw new StorageError(`${method} ${url} failed ${ATTEMPTS} times (last: ${last})`);
  }

  async function sizeOf(url: string): Promise<number | undefined> {
    const res = await headOf(url);
    if (!res) return undefined;
    const len = res.headers['content-length'];
    // A server that does not say the length: what a GET delivers is the size.
    if (len !== undefined && /^\d+$/.test(len)) return Number(len);
    const got = await request(url, 'GET');
    return got ? (await got.arrayBuffer()).byteLength : undefined;
  }

  return {
    description: root,
    urlOf,
    sizeOfUrl: sizeOf,
    async get(key) {
      const url = urlOf(key);
      // A body cut off mid-way is a fault to retry, like a reset before the headers.
      for (let attempt = 1; ; attempt++) {
        const res = await request(url, 'GET');
        if (!res) return undefined;
        try {
          return new Uint8Array(await res.arrayBuffer());
        } catch (err) {
          if (attempt >= ATTEMPTS)
            throw new StorageError(`GET ${url}: the body was cut off ${ATTEMPTS} times`, { cause: err });
          await sleep(delay);
        }
      }
    },
    async getStream(key) {
      const res = await request(urlOf(key), 'GET');
      if (!res?.body) return undefined;
      return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    },
    size: (key) => sizeOf(urlOf(key)),
    async freshness(key) {
      const res = await headOf(urlOf(key));
      if (!res) return undefined;
      const age = res.headers.age;
      const lastModified = res.headers['last-modified'];
      return {
        ...(age !== undefined && /^\d+$/.test(age) ? { ageSeconds: Number(age) } : {}),
        ...(lastModified ? { lastModified } : {}),
      };
    },
  };
}
