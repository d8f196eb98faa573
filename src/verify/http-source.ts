import {
  Agent as HttpAgent,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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
 * percent-encoded (so a `+` travels as `%2B`), redirects followed, no compression asked for.
 */
export function httpSource(base: string, opts: { retryDelayMs?: number } = {}): SiteSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const delay = opts.retryDelayMs ?? 200;
  const urlOf = (key: string) => root + key.split('/').map(encodeURIComponent).join('/');
  // Every request goes through node:http on kept-alive sockets, not fetch(): a site of 100,000
  // drivers is 100,000 HEADs (bench/verify.ts: 84 s of CPU with fetch(), 16 s with node:http), and a
  // body is read into one buffer of its announced length rather than gathered and copied again.
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
  };

  /** One request, redirects followed; the response's body not yet read. Rejects on a network fault. */
  function send(method: 'HEAD' | 'GET', url: string, redirects = REDIRECTS): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const secure = u.protocol === 'https:';
      const req = (secure ? httpsRequest : httpRequest)(
        u,
        { method, agent: secure ? agents.https : agents.http },
        (res) => {
          const status = res.statusCode ?? 0;
          const location = res.headers.location;
          if ([301, 302, 303, 307, 308].includes(status) && location) {
            res.resume();
            if (redirects === 0) return reject(new Error(`more than ${REDIRECTS} redirects`));
            return resolve(send(method, new URL(location, u).href, redirects - 1));
          }
          resolve(res);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * A 2xx response (its body unread), or undefined for 404/403/410; a server fault or a network
   * fault is retried, and after the last attempt throws.
   */
  async function answer(method: 'HEAD' | 'GET', url: string): Promise<IncomingMessage | undefined> {
    let last = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const res = await send(method, url);
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return res;
        res.resume();
        if (status === 404 || status === 403 || status === 410) return undefined;
        last = `HTTP ${status}`;
      } catch (err) {
        last = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
      if (attempt < ATTEMPTS) await sleep(delay * 2 ** (attempt - 1));
    }
    throw new StorageError(`${method} ${url} failed ${ATTEMPTS} times (last: ${last})`);
  }

  async function headOf(url: string): Promise<Head | undefined> {
    const res = await answer('HEAD', url);
    if (!res) return undefined;
    res.resume();
    return { status: res.statusCode ?? 0, headers: res.headers };
  }

  /** A GET's whole body; a body cut off mid-way is a fault to retry, like a reset before the headers. */
  async function getBody(url: string): Promise<Buffer | undefined> {
    for (let attempt = 1; ; attempt++) {
      const res = await answer('GET', url);
      if (!res) return undefined;
      try {
        return await readBody(res);
      } catch (err) {
        if (attempt >= ATTEMPTS)
          throw new StorageError(`GET ${url}: the body was cut off ${ATTEMPTS} times`, { cause: err });
        await sleep(delay);
      }
    }
  }

  async function sizeOf(url: string): Promise<number | undefined> {
    const res = await headOf(url);
    if (!res) return undefined;
    const len = res.headers['content-length'];
    // A server that does not say the length: what a GET delivers is the size.
    if (len !== undefined && /^\d+$/.test(len)) return Number(len);
    return (await getBody(url))?.length;
  }

  return {
    description: root,
    urlOf,
    sizeOfUrl: sizeOf,
    get: (key) => getBody(urlOf(key)),
    async getStream(key) {
      return answer('GET', urlOf(key));
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

/**
 * A response's body in one buffer: of the length the server announced when it did (a 50 MB index
 * is then never gathered in pieces and copied again), rejected when the body ends short or runs long.
 */
function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const announced = res.headers['content-length'];
    const length = announced !== undefined && /^\d+$/.test(announced) ? Number(announced) : undefined;
    const whole = length === undefined ? undefined : Buffer.allocUnsafeSlow(length);
    const parts: Buffer[] = [];
    let got = 0;
    res.on('data', (chunk: Buffer) => {
      if (whole) {
        if (got + chunk.length > whole.length) {
          res.destroy(new Error(`more than the ${whole.length} bytes announced`));
          return;
        }
        chunk.copy(whole, got);
      } else parts.push(chunk);
      got += chunk.length;
    });
    res.on('error', reject);
    res.on('end', () => {
      if (!res.complete) return reject(new Error('the connection closed mid-body'));
      if (whole && got !== whole.length) return reject(new Error(`${got} of ${whole.length} bytes`));
      resolve(whole ?? Buffer.concat(parts, got));
    });
    // A connection that closes mid-body may end the message without 'end' or 'error'.
    res.on('close', () => reject(new Error('the connection closed mid-body')));
  });
}
