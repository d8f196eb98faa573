import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutBucketAclCommand, S3Client } from '@aws-sdk/client-s3';
import { scratchRoot } from './paths.js';
import { toolsMissing } from './tools.js';

const run = promisify(execFile);
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'swift-s3-up.sh');
const BINARIES = [
  'swift-proxy-server',
  'swift-object-server',
  'swift-container-server',
  'swift-account-server',
  'swift-ring-builder',
  'memcached',
];

export interface SwiftHandle {
  /** s3api endpoint (path-style, SigV4). */
  endpoint: string;
  region: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Anonymous read URL prefix: `${publicBase}/${bucket}/${key}` (the bucket is public-read). */
  publicBase: string;
  stop(): Promise<void>;
}

/** Why Swift cannot run here, or undefined when every binary the script needs is installed. */
export function swiftMissing(): string | undefined {
  return toolsMissing(
    BINARIES,
    'OpenStack Swift: apt-get install swift swift-proxy swift-object swift-container swift-account memcached',
  );
}

/**
 * Starts a one-node Swift with s3api on loopback (test/support/swift-s3-up.sh) in a fresh data
 * folder, creates a public-read bucket, and returns how to reach it.
 */
export async function startSwift(bucket = 'pkgpub-test'): Promise<SwiftHandle> {
  const data = await mkdtemp(join(scratchRoot, 'swift-'));
  const stopServers = async () => {
    await run('bash', [SCRIPT, '--stop', '--data', data]).catch(() => {});
  };
  let out: string;
  try {
    out = (await run('bash', [SCRIPT, '--data', data], { timeout: 120_000 })).stdout;
  } catch (err) {
    await stopServers();
    throw new Error(`swift did not start: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  const vars = new Map<string, string>();
  for (const m of out.matchAll(/^export (\w+)=(.*)$/gm)) vars.set(m[1]!, m[2]!);
  const need = (name: string) => {
    const v = vars.get(name);
    if (!v) throw new Error(`swift-s3-up.sh printed no ${name}`);
    return v;
  };
  const handle: SwiftHandle = {
    endpoint: need('S3_ENDPOINT'),
    region: need('AWS_REGION'),
    bucket,
    credentials: { accessKeyId: need('AWS_ACCESS_KEY_ID'), secretAccessKey: need('AWS_SECRET_ACCESS_KEY') },
    publicBase: need('SWIFT_PUBLIC_BASE'),
    stop: async () => {
      await stopServers();
      await rm(data, { recursive: true, force: true });
    },
  };
  const client = new S3Client({
    endpoint: handle.endpoint,
    region: handle.region,
    forcePathStyle: true,
    credentials: handle.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  // A freshly started Swift under load (CI runs two at once) answers 503 "reduce your request
  // rate" for a while; keep asking for up to a minute.
  const patiently = async (send: () => Promise<unknown>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        // The first try may have landed although its answer was a 503.
        if (status === 409 && attempt > 1) return undefined;
        if (attempt >= 30 || (status !== 503 && status !== 500)) throw err;
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  };
  try {
    await patiently(() => client.send(new CreateBucketCommand({ Bucket: bucket })));
    await patiently(() => client.send(new PutBucketAclCommand({ Bucket: bucket, ACL: 'public-read' })));
  } catch (err) {
    await handle.stop();
    throw err;
  } finally {
    client.destroy();
  }
  return handle;
}
