import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError } from '../errors.js';
import type { SiteSource } from './site-source.js';

/** Attempts per request: a flaky origin (5xx, a reset connection) is retried before a file counts as missing. */
const ATTEMPTS = 4;

/**
 * A site over HTTP(S), fetched the way apt, dnf and driver loaders fetch it: every path segment
 * percent-encoded (so a `+` travels as `%2B`), redirects followed.
 */
export function httpSource(base: string, opts: { retryDelayMs?: number } = {}): SiteSource {
  const root = base.endsWith('/') ? base : `${base}/`;
  const delay = opts.retryDelayMs ?? 200;
  const urlOf = (key: string) => root + key.split('/').map(encodeURIComponent).join('/');

  /** A response, or undefined for 404/403/410; throws after the last attempt at a server fault. */
  async function request(url: string, method: 'GET' | 'HEAD'): Promise<Response | undefined> {
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
    const res = await request(url, 'HEAD');
    if (!res) return undefined;
    const len = res.headers.get('content-length');
    // A server that does not say the length: what a GET delivers is the size.
    if (len !== null && /^\d+$/.test(len)) return Number(len);
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
      const res = await request(urlOf(key), 'HEAD');
      if (!res) return undefined;
      const age = res.headers.get('age');
      const lastModified = res.headers.get('last-modified');
      return {
        ...(age !== null && /^\d+$/.test(age) ? { ageSeconds: Number(age) } : {}),
        ...(lastModified ? { lastModified } : {}),
      };
    },
  };
}
