import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = '503' | '500' | 'reset-before' | 'reset-after' | 'cut-body';

export interface FaultProxy {
  endpoint: string;
  /** Every request as "METHOD path?query", in arrival order. */
  requests: string[];
  /** Every request with the body bytes it carried each way, in arrival order (see Traffic). */
  traffic: Traffic[];
  /** How often each fault was injected. */
  injected: Record<Fault, number>;
  stop(): Promise<void>;
}

/**
 * One request as the wire saw it: body bytes sent to the server and returned to the client, and
 * the x-amz-copy-source of a server-side copy. What a client moved itself is what it counts.
 */
export interface Traffic {
  method: string;
  /** Path and query as sent (percent-encoded). */
  url: string;
  copySource?: string;
  bytesUp: number;
  bytesDown: number;
}

export interface FaultProxyOptions {
  failureRate: number;
  seed: number;
  /** Picks a fault for one request before the random draw (undefined: let chance decide). */
  plan?(method: string, url: string): Fault | undefined;
  /**
   * Enforce If-Match / If-None-Match on PUT in front of a server that ignores them (s3rver), by
   * asking the server for the current ETag first (an unsigned HEAD, which s3rver allows). Not
   * atomic, but enough to exercise a client's handling of 412 answers.
   */
  conditional?: boolean;
}

/** Small, seedable PRNG (mulberry32) so a failing run can be replayed with the same faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FAULTS: Fault[] = ['503', '500', 'reset-before', 'reset-after', 'cut-body'];

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  );
}

/**
 * An HTTP proxy in front of an S3 endpoint that fails a share of requests the ways networks and
 * busy servers do: 503 SlowDown, 500 InternalError, a connection reset before the request reaches
 * the server, a reset after the server handled it (the reply is lost), and a reply cut off halfway.
 * Headers go through untouched, so SigV4 signatures (which cover Host) stay valid.
 */
export async function startFaultProxy(upstream: string, opts: FaultProxyOptions): Promise<FaultProxy> {
  const up = new URL(upstream);
  const random = seededRandom(opts.seed);
  const requests: string[] = [];
  const traffic: Traffic[] = [];
  const keyLocks = new Map<string, Promise<void>>();
  const injected = Object.fromEntries(FAULTS.map((f) => [f, 0])) as Record<Fault, number>;

  const forward = (req: IncomingMessage, res: ServerResponse, fault: Fault | undefined) => {
    const t: Traffic = { method: req.method ?? '', url: req.url ?? '', bytesUp: 0, bytesDown: 0 };
    const copySource = req.headers['x-amz-copy-source'];
    if (typeof copySource === 'string') t.copySource = copySource;
    traffic.push(t);
    req.on('data', (c: Buffer) => {
      t.bytesUp += c.length;
    });
    const upReq = request(
      { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => {
          chunks.push(c);
          t.bytesDown += c.length;
        });
        upRes.on('end', () => {
          if (fault === 'reset-after') {
            req.socket.destroy();
            return;
          }
          const body = Buffer.concat(chunks);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          if (fault === 'cut-body' && body.length > 1) {
            res.write(body.subarray(0, body.length >> 1), () => req.socket.destroy());
            return;
          }
          res.end(body);
        });
      },
    );
    upReq.on('error', () => req.socket.destroy());
    req.pipe(upReq);
  };

  const preconditionHolds = (req: IncomingMessage) =>
    new Promise<boolean>((resolve) => {
      const head = request({ host: up.hostname, port: up.port, method: 'HEAD', path: req.url }, (r) => {
        r.resume();
        const exists = r.statusCode === 200;
        const ifNoneMatch = req.headers['if-none-match'];
        const ifMatch = req.headers['if-match'];
        if (ifNoneMatch === '*' && exists) return resolve(false);
        if (ifMatch !== undefined && (!exists || ifMatch !== r.headers.etag)) return resolve(false);
        resolve(true);
      });
      head.on('error', () => resolve(false));
      head.end();
    });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`);
    const planned = opts.plan?.(req.method ?? '', req.url ?? '');
    const fault =
      planned ?? (random() < opts.failureRate ? FAULTS[Math.floor(random() * FAULTS.length)]! : undefined);
    if (fault) injected[fault]++;
    if (fault === 'reset-before') {
      req.socket.destroy();
      return;
    }
    if (fault === '503' || fault === '500') {
      req.resume();
      req.on('end', () =>
        fault === '503'
          ? s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.')
          : s3Error(res, 500, 'InternalError', 'We encountered an internal error.'),
      );
      return;
    }
    const conditional =
      req.method === 'PUT' &&
      (req.headers['if-match'] || req.headers['if-none-match']) &&
      !req.url?.includes('uploadId=');
    if (opts.conditional) {
      req.pause();
      // One request per object at a time: a PUT is then atomic to readers (s3rver writes in place,
      // so a GET during a PUT could read half an object), and a conditional PUT is a check-then-write
      // nobody can come between: the compare-and-swap a real server does.
      const path = (req.url ?? '').split('?')[0]!;
      const before = keyLocks.get(path) ?? Promise.resolve();
      const done = new Promise<void>((resolve) => res.once('close', resolve));
      const mine = before.then(() => done);
      keyLocks.set(path, mine);
      void mine.then(() => {
        if (keyLocks.get(path) === mine) keyLocks.delete(path);
      });
      void before
        .then(() => (conditional ? preconditionHolds(req) : true))
        .then((ok) => {
          if (ok) return forward(req, res, fault);
          req.resume();
          req.on('end', () =>
            s3Error(
              res,
              412,
              'PreconditionFailed',
              'At least one of the pre-conditions you specified did not hold',
            ),
          );
        });
      return;
    }
    forward(req, res, fault);
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    traffic,
    injected,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
