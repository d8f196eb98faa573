/**
 * s3rver for the benches, and a counter of the S3 requests a client makes and of the object bytes
 * that pass through it.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { S3Client } from '@aws-sdk/client-s3';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * s3rver on 127.0.0.1 from test/support/s3rver-child.mjs (run from the checkout's root) under
 * --openssl-legacy-provider, which its paginated listings need.
 */
export async function startS3rver(dir: string, bucket: string) {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join('test', 'support', 's3rver-child.mjs'), dir, bucket],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) =>
      resolve((JSON.parse(l) as { port: number }).port),
    );
    child.once('exit', (c) => reject(new Error(`s3rver exited ${c}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** The S3 operations as the kinds of request they are. */
const KINDS: Record<string, string> = {
  GetObjectCommand: 'GET',
  HeadObjectCommand: 'HEAD',
  PutObjectCommand: 'PUT',
  UploadPartCommand: 'PUT',
  CreateMultipartUploadCommand: 'PUT',
  CompleteMultipartUploadCommand: 'PUT',
  CopyObjectCommand: 'COPY',
  ListObjectsV2Command: 'LIST',
  DeleteObjectsCommand: 'DELETE',
  DeleteObjectCommand: 'DELETE',
};

export interface S3Counts {
  /** Requests by S3 operation (GetObjectCommand, …), retries included. */
  byCommand: Map<string, number>;
  /** Requests by kind: GET, HEAD, PUT, COPY, LIST, DELETE. */
  byKind: Map<string, number>;
  /** Seconds spent in requests of each kind, summed over requests in flight together. */
  secondsByKind: Map<string, number>;
  /** Object bodies sent (PUT, upload parts) and received (GET), by whether the key is a package. */
  packageBytes: number;
  otherBytes: number;
}

/**
 * Counts every HTTP request `client` sends from now on (at the deserialize step, so each retry is
 * one more) and the object bytes it carries: a PUT's Content-Length up, a GET's down. A key that
 * `isPackage` accepts counts as package bytes. `reset()` starts again from zero.
 */
export function countS3(client: S3Client, isPackage: (key: string) => boolean = () => false) {
  const counts: S3Counts = {
    byCommand: new Map(),
    byKind: new Map(),
    secondsByKind: new Map(),
    packageBytes: 0,
    otherBytes: 0,
  };
  const length = (headers: Record<string, string> | undefined) => {
    for (const [k, v] of Object.entries(headers ?? {}))
      if (k.toLowerCase() === 'content-length') return Number(v);
    return 0;
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'request');
      counts.byCommand.set(name, (counts.byCommand.get(name) ?? 0) + 1);
      const kind = KINDS[name] ?? name;
      counts.byKind.set(kind, (counts.byKind.get(kind) ?? 0) + 1);
      const key = String((args.input as { Key?: string }).Key ?? '');
      const t = performance.now();
      const out = await next(args).finally(() =>
        counts.secondsByKind.set(
          kind,
          (counts.secondsByKind.get(kind) ?? 0) + (performance.now() - t) / 1000,
        ),
      );
      const request = args.request as { headers?: Record<string, string> };
      const response = out.response as { headers?: Record<string, string> };
      const bytes =
        name === 'GetObjectCommand'
          ? length(response.headers)
          : kind === 'PUT' && name !== 'CopyObjectCommand'
            ? length(request.headers)
            : 0;
      if (isPackage(key)) counts.packageBytes += bytes;
      else counts.otherBytes += bytes;
      return out;
    },
    { step: 'deserialize', name: 'pkgpubBenchCounter' },
  );
  return {
    counts,
    reset() {
      counts.byCommand.clear();
      counts.byKind.clear();
      counts.secondsByKind.clear();
      counts.packageBytes = 0;
      counts.otherBytes = 0;
    },
    total: () => [...counts.byCommand.values()].reduce((a, b) => a + b, 0),
  };
}
