import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { S3Store } from '../../src/storage/s3-store.js';
import { type SwiftHandle, startSwift, swiftMissing } from '../support/swift.js';
import { describeWithTools } from '../support/tools.js';
import { objectStoreContract } from './object-store.contract.js';

describeWithTools('ObjectStore contract: OpenStack Swift s3api', swiftMissing(), () => {
  let server: SwiftHandle;
  let raw: S3Client;
  beforeAll(async () => {
    server = await startSwift();
    raw = new S3Client({
      endpoint: server.endpoint,
      region: server.region,
      forcePathStyle: true,
      credentials: server.credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    raw?.destroy();
    await server?.stop();
  });

  objectStoreContract(
    'OpenStack Swift s3api',
    async (ns) => {
      const store = new S3Store({
        bucket: server.bucket,
        prefix: ns,
        endpoint: server.endpoint,
        region: server.region,
        credentials: server.credentials,
      });
      return {
        store,
        rawHead: async (key) => {
          const r = await raw.send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${ns}/${key}` }));
          return { contentType: r.ContentType, cacheControl: r.CacheControl, sha256: r.Metadata?.sha256 };
        },
        // Swift's own API serves the public-read bucket anonymously; '+' goes out as %2B.
        plainGet: async (key) => {
          const path = `${ns}/${key}`.split('/').map(encodeURIComponent).join('/');
          const res = await fetch(`${server.publicBase}/${server.bucket}/${path}`);
          return res.status === 200 ? new Uint8Array(await res.arrayBuffer()) : undefined;
        },
      };
    },
    // Observed: s3api answers 501 NotImplemented to conditional PUTs; multipart ETags are "md5-N".
    {
      keepsSha256: true,
      listsMd5: true,
      conditionalWrites: false,
      pagination: true,
      multipartEtag: 'parts',
    },
  );
});
