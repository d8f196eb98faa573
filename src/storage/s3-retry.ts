/**
 * Retry policy for S3 requests. The SDK asks this strategy after every failed HTTP attempt, so
 * each request (including each part of a multipart upload) is retried on its own, with the
 * request body replayed by the SDK. The shapes below mirror the SDK's RetryStrategyV2 contract
 * structurally, so no transitive @smithy package has to be imported.
 */
export interface RetryPolicy {
  /** Total attempts per request, the first one included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 10_000 };

/** "Full jitter": uniform in [0, min(max, base·2^retry)), so many clients that failed together spread out. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

interface Token {
  getRetryCount(): number;
  getRetryDelay(): number;
}

interface ErrorInfo {
  error?: unknown;
  /** The SDK's own classification: throttling (429, SlowDown), transient (5xx, resets, timeouts). */
  errorType: 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR';
  retryAfterHint?: Date;
}

class BackoffToken implements Token {
  constructor(
    private readonly count: number,
    private readonly delay: number,
  ) {}
  getRetryCount(): number {
    return this.count;
  }
  getRetryDelay(): number {
    return this.delay;
  }
}

/**
 * Unlike the SDK's standard strategy there is no shared retry quota: a publish is a bounded batch
 * job, and a burst of throttling early on must not leave later uploads with no retries at all.
 */
export class BackoffRetryStrategy {
  constructor(readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY) {}

  async acquireInitialRetryToken(_scope: string): Promise<Token> {
    return new BackoffToken(0, 0);
  }

  async refreshRetryTokenForRetry(token: Token, info: ErrorInfo): Promise<Token> {
    const retry = token.getRetryCount() + 1;
    // SERVER_ERROR is the SDK's name for 5xx other than 500/502/503/504 (those are TRANSIENT):
    // 501 NotImplemented and friends will answer the same again.
    const retryable = info.errorType === 'TRANSIENT' || info.errorType === 'THROTTLING';
    if (!retryable || retry >= this.policy.maxAttempts) {
      throw info.error instanceof Error ? info.error : new Error('request failed and is not retryable');
    }
    let delay = backoffDelay(this.policy, retry);
    // A server that says when to come back knows better than our guess, within reason.
    if (info.retryAfterHint) {
      const hinted = info.retryAfterHint.getTime() - Date.now();
      if (hinted > delay) delay = Math.min(hinted, this.policy.maxDelayMs);
    }
    return new BackoffToken(retry, delay);
  }

  recordSuccess(_token: Token): void {}
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const RETRYABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'ServiceUnavailable',
]);

/**
 * For failures the SDK cannot retry itself: a response body that breaks off while being read
 * happens after the SDK has handed the response over.
 */
export function isRetryableError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; cause?: unknown };
  const status = e.$metadata?.httpStatusCode ?? 0;
  if (status === 429 || status === 500 || status === 502 || status === 503 || status === 504) return true;
  if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.name === 'Error' && /aborted|socket hang up|premature close/i.test(String((err as Error).message)))
    return true;
  return e.cause !== undefined && e.cause !== err && isRetryableError(e.cause);
}
