import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { scratchRoot } from './paths.js';
import { S3Store, type S3StoreOptions } from '../../src/storage/s3-store.js';

export interface S3rverHandle {
  /** http://127.0.0.1:PORT (path-style only). */
  endpoint: string;
  bucket: string;
  /** s3rver checks signatures against its fixed default key pair. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Where s3rver keeps buckets and objects on disk. */
  dataDir: string;
  stop(): Promise<void>;
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 's3rver-child.mjs');

/**
 * Starts s3rver 3.7.1 in a child process on a free loopback port with a fresh data folder and one
 * bucket. A child process (not in-process) because s3rver needs node's legacy OpenSSL provider
 * for paginated listings, and that flag cannot be turned on from inside a running process.
 */
export async function startS3rver(bucket = 'pkgpub-test'): Promise<S3rverHandle> {
  const dataDir = await mkdtemp(join(scratchRoot, 's3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', CHILD, dataDir, bucket], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (process.env.PKGPUB_DEBUG_S3RVER) process.stderr.write(d);
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (why: string) => reject(new Error(`s3rver did not start: ${why}\n${stderr}`));
    child.once('exit', (code) => fail(`exited with ${code}`));
    child.once('error', (err) => fail(err.message));
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        fail(`unexpected output ${line}`);
      }
    });
  });
  child.removeAllListeners('exit');
  let stopping = false;
  child.on('exit', (code, signal) => {
    // A server dying mid-test shows up as ECONNREFUSED in the test; say why here.
    if (!stopping)
      process.stderr.write(`s3rver exited unexpectedly (code ${code}, signal ${signal}):\n${stderr}\n`);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    dataDir,
    stop: async () => {
      stopping = true;
      await stopChild(child);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The S3 store pkgpub publishes with, on a test server's bucket under `prefix`. */
export function storeOn(
  h: { endpoint: string; bucket: string; credentials: { accessKeyId: string; secretAccessKey: string } },
  prefix: string,
  /** Another endpoint (a proxy in front of the server), a retry policy, ... */
  over: Partial<S3StoreOptions> = {},
): S3Store {
  return new S3Store({
    bucket: h.bucket,
    prefix,
    endpoint: h.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: h.credentials,
    ...over,
  });
}
