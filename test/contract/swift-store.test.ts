import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { type SwiftHandle, startSwift, swiftMissing } from '../support/swift.js';
import { describeWithTools } from '../support/tools.js';
import { objectStoreContract } from './object-store.contract.js';
import { rawClient, s3Fixture } from './s3-fixture.js';

describeWithTools('ObjectStore contract: OpenStack Swift s3api', swiftMissing(), () => {
  let server: SwiftHandle;
  let raw: S3Client;
  beforeAll(async () => {
    server = await startSwift();
    raw = rawClient(server, {
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    raw?.destroy();
    await server?.stop();
  });

  // Swift's own API serves the public-read bucket anonymously.
  objectStoreContract(
    'OpenStack Swift s3api',
    async (ns) => s3Fixture(server, raw, ns),
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
