import { randomUUID } from 'node:crypto';
import { CLOUDFRONT_DISTRIBUTION_ID } from '../config/schema.js';
import { UsageError } from '../errors.js';
import { normalizePathsPrefix } from './invalidation-paths.js';
import type { CdnInvalidator } from './invalidator.js';

export interface CloudFrontOptions {
  distributionId: string;
  pathsPrefix: string;
  /** Replaces CloudFront's own endpoint (tests, or an API-compatible service). */
  endpoint?: string;
}

/**
 * A CdnInvalidator over CloudFront's CreateInvalidation. Credentials come from the AWS SDK's
 * standard chain (env, profile, web identity, instance role); the SDK is loaded on the first
 * invalidation only, so dry runs and folder publishes without one never pay for it.
 */
export function cloudFrontInvalidator(opts: CloudFrontOptions): CdnInvalidator {
  if (!CLOUDFRONT_DISTRIBUTION_ID.test(opts.distributionId))
    throw new UsageError(
      `CloudFront distribution id "${opts.distributionId}" must be upper-case letters and digits, like E2QWRUHAPOMQZL`,
    );
  if (opts.endpoint !== undefined) checkEndpoint(opts.endpoint);
  return {
    description: `CloudFront distribution ${opts.distributionId}`,
    pathsPrefix: normalizePathsPrefix(opts.pathsPrefix),
    async invalidate(paths) {
      const { CloudFrontClient, CreateInvalidationCommand } = await import('@aws-sdk/client-cloudfront');
      const client = new CloudFrontClient({
        // CloudFront is global; its API is signed for us-east-1 whatever AWS_REGION says.
        region: 'us-east-1',
        maxAttempts: 3,
        // A hung endpoint must not hold a finished publish (and its lock) for long.
        requestHandler: { connectionTimeout: 10_000, requestTimeout: 30_000 },
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      });
      try {
        const res = await client.send(
          new CreateInvalidationCommand({
            DistributionId: opts.distributionId,
            InvalidationBatch: {
              // Unique per run: CloudFront answers a repeated reference with the earlier invalidation.
              // The SDK's own retries reuse this request, so a retried send stays one invalidation.
              CallerReference: `pkgpub-${new Date().toISOString()}-${randomUUID()}`,
              Paths: { Quantity: paths.length, Items: paths },
            },
          }),
        );
        return { id: res.Invalidation?.Id ?? '(no id returned)' };
      } finally {
        client.destroy();
      }
    },
  };
}

/** The endpoint is never echoed: a malformed one could still hold a secret. */
function checkEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError('PKGPUB_CLOUDFRONT_ENDPOINT is not a URL (expected http(s)://host[:port])');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError('PKGPUB_CLOUDFRONT_ENDPOINT must be an http:// or https:// URL');
  // Credentials come from the SDK's chain; a URL carrying them would end up in messages.
  if (url.username || url.password)
    throw new UsageError('PKGPUB_CLOUDFRONT_ENDPOINT must not contain credentials');
}
