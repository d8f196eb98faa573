import { HeadObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { S3Store } from '../../src/storage/s3-store.js';
import type { ContractFixture } from './object-store.contract.js';

/** An S3-speaking server as the contract reaches it: the API, and where it serves objects anonymously. */
export interface S3Server {
  endpoint: string;
  bucket: string;
  region?: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The root anonymous GETs go to (`BASE/BUCKET/KEY`). */
  publicBase: string;
}

/** A plain SDK client on the server, beside pkgpub's store, to see what the store really wrote. */
export function rawClient(server: S3Server, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: server.credentials,
    ...extra,
  });
}

/**
 * The contract's fixture for namespace `ns`: pkgpub's S3Store under that prefix, a raw HEAD for
 * the metadata it wrote, and an anonymous GET as a client makes it ('+' goes out as %2B).
 */
export function s3Fixture(server: S3Server, raw: S3Client, ns: string): ContractFixture {
  return {
    store: new S3Store({
      bucket: server.bucket,
      prefix: ns,
      endpoint: server.endpoint,
      ...(server.region ? { region: server.region } : {}),
      credentials: server.credentials,
    }),
    rawHead: async (key) => {
      const r = await raw.send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${ns}/${key}` }));
      return { contentType: r.ContentType, cacheControl: r.CacheControl, sha256: r.Metadata?.sha256 };
    },
    plainGet: async (key) => {
      const path = `${ns}/${key}`.split('/').map(encodeURIComponent).join('/');
      const res = await fetch(`${server.publicBase}/${server.bucket}/${path}`);
      return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined;
    },
  };
}
