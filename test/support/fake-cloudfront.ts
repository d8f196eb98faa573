import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One CreateInvalidation the fake received, decoded from its XML body. */
export interface InvalidationRequest {
  distributionId: string;
  callerReference: string;
  quantity: number;
  paths: string[];
  /** The SigV4 Authorization header was there (the real SDK client signed the request). */
  signed: boolean;
}

export type FakeMode = 'ok' | 'error-500' | 'access-denied';

export interface FakeCloudFront {
  endpoint: string;
  requests: InvalidationRequest[];
  mode: FakeMode;
  stop(): Promise<void>;
}

const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

/**
 * Just enough of CloudFront's REST API for the AWS SDK client to create an invalidation against
 * it on 127.0.0.1: POST /2020-05-31/distribution/{Id}/invalidation. AWS is out of reach from the
 * tests, and this keeps the real client, its XML serializer and its error handling in the loop.
 */
export async function startFakeCloudFront(): Promise<FakeCloudFront> {
  const requests: InvalidationRequest[] = [];
  let count = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) {
        reply(res, 404, errorXml('Sender', 'NoSuchResource', `no route for ${req.method} ${req.url}`));
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const request: InvalidationRequest = {
        distributionId: decodeURIComponent(m[1]!),
        callerReference: unescapeXml(/<CallerReference>([^<]*)<\/CallerReference>/.exec(body)?.[1] ?? ''),
        quantity: Number(/<Quantity>(\d+)<\/Quantity>/.exec(body)?.[1] ?? Number.NaN),
        paths: [...body.matchAll(/<Path>([^<]*)<\/Path>/g)].map((p) => unescapeXml(p[1]!)),
        signed: /^AWS4-HMAC-SHA256 /.test(req.headers.authorization ?? ''),
      };
      requests.push(request);
      if (fake.mode === 'error-500') {
        reply(res, 500, errorXml('Receiver', 'InternalError', 'We encountered an internal error.'));
        return;
      }
      if (fake.mode === 'access-denied') {
        reply(
          res,
          403,
          errorXml(
            'Sender',
            'AccessDenied',
            'User is not authorized to perform: cloudfront:CreateInvalidation',
          ),
        );
        return;
      }
      const id = `IFAKE${++count}`;
      res.setHeader(
        'Location',
        `https://cloudfront.amazonaws.com/2020-05-31/distribution/${m[1]}/invalidation/${id}`,
      );
      reply(
        res,
        201,
        `<?xml version="1.0" encoding="UTF-8"?>\n<Invalidation xmlns="${NS}"><Id>${id}</Id>` +
          `<Status>InProgress</Status><CreateTime>${new Date().toISOString()}</CreateTime>` +
          `<InvalidationBatch><Paths><Quantity>${request.paths.length}</Quantity><Items>` +
          request.paths.map((p) => `<Path>${escapeXml(p)}</Path>`).join('') +
          `</Items></Paths><CallerReference>${escapeXml(request.callerReference)}</CallerReference>` +
          '</InvalidationBatch></Invalidation>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const fake: FakeCloudFront = {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    mode: 'ok',
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
  return fake;
}

function reply(res: import('node:http').ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': `req-${Date.now()}` });
  res.end(xml);
}

function errorXml(type: string, code: string, message: string): string {
  return `<?xml version="1.0"?>\n<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>fake</RequestId></ErrorResponse>`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}
