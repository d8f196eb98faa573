import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PreconditionError, StorageError } from '../errors.js';
import {
  assertSafeKey,
  type Body,
  type CopyOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
} from './object-store.js';
import {
  BackoffRetryStrategy,
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableError,
  type RetryPolicy,
} from './s3-retry.js';

export interface S3StoreOptions {
  bucket: string;
  /** Folder inside the bucket that holds the tree; '' or absent for the bucket root. */
  prefix?: string;
  /** For S3-compatible servers (http://127.0.0.1:9000, https://…r2.cloudflarestorage.com). Absent: AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (endpoint/bucket/key). Defaults to on for endpoints on an IP address or localhost. */
  forcePathStyle?: boolean;
  /** Parallel parts of one multipart upload, and parallel delete batches. */
  concurrency?: number;
  /** Absent: the SDK's standard chain (env, profile, SSO, instance role...). */
  credentials?: S3ClientConfig['credentials'];
  /** A ready client (tests, custom handlers); it then brings its own retry and checksum settings. */
  client?: S3Client;
  retry?: Partial<RetryPolicy>;
  /** File bodies above this size go up as multipart uploads. */
  multipartThreshold?: number;
  partSize?: number;
}

const MiB = 1024 * 1024;
const DEFAULT_MULTIPART_THRESHOLD = 16 * MiB;
const DEFAULT_PART_SIZE = 8 * MiB;
/** ListObjectsV2 and DeleteObjects both stop at 1000 keys per request. */
const BATCH = 1000;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MD5_HEX = /^[0-9a-f]{32}$/;

/**
 * The published tree in an S3 bucket (AWS or any S3-compatible server).
 *
 * Skipping unchanged uploads: every object pkgpub writes carries its sha256 as user metadata
 * (x-amz-meta-sha256), which head() returns. A listing cannot return metadata, so list() and
 * listFolder() give only what the listing has (size, ETag). For single-part uploads the ETag is
 * the MD5 of the bytes (reported as `md5`), which callers holding the MD5 can compare without a
 * HEAD; objects above the multipart threshold have an ETag of the form md5-of-part-md5s "-N" on
 * AWS and Swift, so for those only head() settles it.
 *
 * Conditional writes: put() with ifMatch sends If-Match / If-None-Match when the endpoint
 * honours them (supportsConditionalWrites() finds out once per store). Where it does not (s3rver
 * ignores them, Swift's s3api answers 501), put() checks the current ETag first: that narrows the
 * race but cannot close it, so callers must then take a lock object.
 */
export class S3Store implements ObjectStore {
  readonly description: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  private readonly concurrency: number;
  private readonly policy: RetryPolicy;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private conditional: Promise<boolean> | undefined;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix !== '') assertSafeKey(this.prefix);
    this.description = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.policy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
    this.multipartThreshold = opts.multipartThreshold ?? DEFAULT_MULTIPART_THRESHOLD;
    this.partSize = Math.max(5 * MiB, opts.partSize ?? DEFAULT_PART_SIZE);
    this.client = opts.client ?? createClient(opts, this.policy);
  }

  /** Object key in the bucket for a tree key. */
  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.getVersioned(key))?.bytes;
  }

  async getVersioned(key: string): Promise<{ bytes: Uint8Array; etag: string } | undefined> {
    const Key = this.objectKey(key);
    // The SDK retries each request until response headers arrive; a body that breaks off while
    // being read is ours to retry.
    for (let attempt = 1; ; attempt++) {
      let res: GetObjectCommandOutput;
      try {
        res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw this.failure('read', key, err);
      }
      try {
        const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
        return { bytes, etag: unquote(res.ETag) ?? '' };
      } catch (err) {
        if (attempt < this.policy.maxAttempts && isRetryableError(err)) {
          await sleep(backoffDelay(this.policy, attempt));
          continue;
        }
        throw this.failure('read', key, err);
      }
    }
  }

  async getStream(key: string): Promise<Readable | undefined> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!res.Body) return Readable.from([]);
      if (res.Body instanceof Readable) return res.Body;
      return Readable.fromWeb(res.Body.transformToWebStream() as import('node:stream/web').ReadableStream);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.failure('read', key, err);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.objectKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      const info: ObjectInfo = {
        key,
        size: res.ContentLength ?? 0,
        lastModified: res.LastModified ?? new Date(0),
      };
      const etag = unquote(res.ETag);
      if (etag) info.etag = etag;
      const md5 = md5FromEtag(etag);
      if (md5) info.md5 = md5;
      const sha256 = res.Metadata?.sha256?.toLowerCase();
      if (sha256 && SHA256_HEX.test(sha256)) info.sha256 = sha256;
      return info;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.failure('stat', key, err);
    }
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.objectKey(key);
    const common = {
      Bucket: this.bucket,
      Key,
      ...(opts.contentType ? { ContentType: opts.contentType } : {}),
      ...(opts.cacheControl ? { CacheControl: opts.cacheControl } : {}),
    };
    // Conditional writes must be a single request so the server can compare and swap atomically.
    if ('file' in body && body.size > this.multipartThreshold && opts.ifMatch === undefined) {
      return this.putMultipart(key, body.file, body.size, common, opts.sha256);
    }
    let bytes: Uint8Array;
    try {
      bytes = 'bytes' in body ? body.bytes : await readFile(body.file);
    } catch (err) {
      throw this.failure('read the local file for', key, err);
    }
    // The read pass usually has the file's MD5 already; hashing it again here held up every upload.
    const md5 =
      opts.md5 && MD5_HEX.test(opts.md5)
        ? Buffer.from(opts.md5, 'hex')
        : createHash('md5').update(bytes).digest();
    const sha256 = opts.sha256 ?? createHash('sha256').update(bytes).digest('hex');
    const input: PutObjectCommandInput = {
      ...common,
      Body: bytes,
      ContentLength: bytes.byteLength,
      // The server refuses bytes that were damaged on the way instead of storing them.
      ContentMD5: md5.toString('base64'),
      Metadata: { sha256 },
    };
    if (opts.ifMatch !== undefined) {
      if (await this.supportsConditionalWrites()) {
        if (opts.ifMatch === '') input.IfNoneMatch = '*';
        else input.IfMatch = quote(opts.ifMatch);
      } else {
        await this.checkIfMatch(key, opts.ifMatch);
      }
    }
    try {
      const res = await this.client.send(withPayloadSha256(new PutObjectCommand(input), sha256));
      return {
        key,
        size: bytes.byteLength,
        lastModified: new Date(),
        etag: unquote(res.ETag) ?? md5.toString('hex'),
        sha256,
      };
    } catch (err) {
      // AWS answers If-Match on a missing key with 404: the pointer is gone, which is a conflict too.
      if (isPreconditionFailed(err) || (input.IfMatch !== undefined && isNotFound(err))) {
        // A retry of a write that did land (the reply was lost) fails its own precondition.
        const retried = ((err as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1;
        const now = retried ? await this.head(key) : undefined;
        if (now && now.etag === md5.toString('hex')) return { ...now, sha256 };
        throw new PreconditionError(
          `${key} changed in ${this.description} while publishing (precondition failed)`,
          { cause: err },
        );
      }
      throw this.failure('write', key, err);
    }
  }

  private async putMultipart(
    key: string,
    file: string,
    size: number,
    common: { Bucket: string; Key: string; ContentType?: string; CacheControl?: string },
    sha256: string | undefined,
  ): Promise<ObjectInfo> {
    const upload = new Upload({
      client: this.client,
      params: { ...common, Body: createReadStream(file), ...(sha256 ? { Metadata: { sha256 } } : {}) },
      partSize: this.partSize,
      queueSize: this.concurrency,
      // A failed upload must not leave invisible billed parts behind.
      leavePartsOnError: false,
    });
    try {
      const res = await upload.done();
      const info: ObjectInfo = { key, size, lastModified: new Date() };
      const etag = unquote(res.ETag);
      if (etag) info.etag = etag;
      if (sha256) info.sha256 = sha256;
      return info;
    } catch (err) {
      throw this.failure('upload', key, err);
    }
  }

  /**
   * CopyObject: the bytes move inside the server, never through this process. The metadata is
   * copied with them (MetadataDirective COPY): a pkgpub blob already carries the content type,
   * the immutable cache control and the sha256 its copy needs (and s3rver, told REPLACE, keeps a
   * stale ETag for an object it overwrites). One request copies up to 5 GiB.
   */
  async copy(fromKey: string, toKey: string, opts: CopyOptions = {}): Promise<ObjectInfo> {
    const source = this.objectKey(fromKey);
    const Key = this.objectKey(toKey);
    const send = (encoded: string) =>
      this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key,
          CopySource: `${this.bucket}/${encoded}`,
          MetadataDirective: 'COPY',
        }),
      );
    let res: Awaited<ReturnType<typeof send>>;
    try {
      try {
        res = await send(encodeCopyKey(source, encodeURIComponent));
      } catch (err) {
        // s3rver reads the header with decodeURI(), which leaves %2B (and the other reserved
        // escapes) undecoded and then finds no such key: those go out as they are instead.
        const loose = encodeCopyKey(source, encodeURI);
        if (!isNotFound(err) || loose === encodeCopyKey(source, encodeURIComponent)) throw err;
        res = await send(loose);
      }
    } catch (err) {
      if (isNotFound(err))
        throw new StorageError(
          `cannot copy ${fromKey} to ${toKey} in ${this.description}: ${fromKey} does not exist`,
          { cause: err },
        );
      throw this.failure(`copy ${fromKey} to`, toKey, err);
    }
    const etag = unquote(res.CopyObjectResult?.ETag);
    const md5 = md5FromEtag(etag);
    if (md5 && opts.md5 && MD5_HEX.test(opts.md5) && md5 !== opts.md5.toLowerCase())
      throw new StorageError(
        `${fromKey} in ${this.description} is not the object its index describes (MD5 ${md5}, expected ${opts.md5}); ${toKey} now holds it and must be republished`,
      );
    // The caller usually knows the size from the index: then the copy costs one request.
    if (opts.size !== undefined) {
      const info: ObjectInfo = {
        key: toKey,
        size: opts.size,
        lastModified: res.CopyObjectResult?.LastModified ?? new Date(),
      };
      if (etag) info.etag = etag;
      if (md5) info.md5 = md5;
      if (opts.sha256) info.sha256 = opts.sha256;
      return info;
    }
    const info = await this.head(toKey);
    if (!info) throw new StorageError(`${toKey} vanished right after it was copied in ${this.description}`);
    return info;
  }

  private async checkIfMatch(key: string, expected: string): Promise<void> {
    const cur = await this.head(key);
    if ((cur?.etag ?? '') !== expected) {
      throw new PreconditionError(`${key} changed in ${this.description} while publishing`);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const folder = prefix.replace(/\/+$/, '');
    // A prefix names a folder, as in the folder backend: "dir" must not match "dir2/x".
    const Prefix = folder === '' ? (this.prefix ? `${this.prefix}/` : '') : `${this.objectKey(folder)}/`;
    for await (const o of this.listPages(Prefix, folder)) {
      const key = o.Key.slice(this.strip);
      // Folder markers ("dir/") and keys other tools wrote that this interface cannot address.
      if (!isSafe(key)) continue;
      yield listed(key, o.Size, o.LastModified, o.ETag);
    }
  }

  async *listFolder(prefix: string, nameStartsWith = ''): AsyncIterable<ObjectInfo> {
    const folder = prefix.replace(/\/+$/, '');
    if (nameStartsWith.includes('/')) throw new StorageError(`not a name in a folder: ${nameStartsWith}`);
    const dir = folder === '' ? (this.prefix ? `${this.prefix}/` : '') : `${this.objectKey(folder)}/`;
    const Prefix = `${dir}${nameStartsWith}`;
    // Only Contents matter: subfolders come back as CommonPrefixes, which some servers (s3rver)
    // report incompletely.
    for await (const o of this.listPages(Prefix, folder, '/')) {
      // A server that ignored the delimiter must not make deeper keys look like this folder's.
      if (!o.Key.startsWith(Prefix) || o.Key.includes('/', dir.length)) continue;
      const key = o.Key.slice(this.strip);
      if (!isSafe(key)) continue;
      yield listed(key, o.Size, o.LastModified, o.ETag);
    }
  }

  /** The length of "<prefix>/" that object keys carry and store keys do not. */
  private get strip(): number {
    return this.prefix ? this.prefix.length + 1 : 0;
  }

  /** Every object ListObjectsV2 returns under `Prefix`, page after page, fetched as iteration goes on. */
  private async *listPages(
    Prefix: string,
    folder: string,
    Delimiter?: string,
  ): AsyncIterable<NonNullable<ListObjectsV2CommandOutput['Contents']>[number] & { Key: string }> {
    let ContinuationToken: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix,
            MaxKeys: BATCH,
            ...(Delimiter ? { Delimiter } : {}),
            ...(ContinuationToken ? { ContinuationToken } : {}),
          }),
        );
      } catch (err) {
        throw this.failure('list', folder || '(root)', err);
      }
      for (const o of page.Contents ?? []) if (o.Key) yield { ...o, Key: o.Key };
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async delete(keys: string[]): Promise<void> {
    const unique = [...new Set(keys)];
    const objectKeys = unique.map((k) => this.objectKey(k));
    const batches: string[][] = [];
    for (let i = 0; i < objectKeys.length; i += BATCH) batches.push(objectKeys.slice(i, i + BATCH));
    await runLimited(batches, this.concurrency, (batch) => this.deleteBatch(batch));
  }

  private async deleteBatch(objectKeys: string[]): Promise<void> {
    const cmd = new DeleteObjectsCommand({
      Bucket: this.bucket,
      Delete: { Objects: objectKeys.map((Key) => ({ Key })), Quiet: true },
    });
    // Swift (s3api) refuses DeleteObjects without Content-MD5, which the SDK no longer sends
    // when checksums are only computed where required.
    cmd.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string>; body?: unknown };
        if (req.headers && (typeof req.body === 'string' || req.body instanceof Uint8Array)) {
          req.headers['content-md5'] = createHash('md5').update(req.body).digest('base64');
        }
        return next(args);
      },
      { step: 'build', name: 'pkgpubDeleteContentMd5' },
    );
    let failed: { key: string; reason: string } | undefined;
    try {
      const res = await this.client.send(cmd);
      const errors = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      const first = errors[0];
      if (first)
        failed = { key: first.Key ?? '?', reason: `${first.Code ?? 'error'}: ${first.Message ?? ''}`.trim() };
    } catch (err) {
      // Some servers answer 5xx although the batch went through (s3rver), others lack the call:
      // delete one by one, which is idempotent and reports the key that really fails.
      if (!isRetryableError(err) && !isNotImplemented(err))
        throw this.failure('delete', this.treeKey(objectKeys[0]!), err);
      await runLimited(objectKeys, this.concurrency, (Key) => this.deleteOne(Key));
      return;
    }
    if (failed)
      throw new StorageError(
        `cannot delete ${this.treeKey(failed.key)} from ${this.description}: ${oneLine(failed.reason)}`,
      );
  }

  private async deleteOne(Key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (!isNotFound(err)) throw this.failure('delete', this.treeKey(Key), err);
    }
  }

  private treeKey(objectKey: string): string {
    return this.prefix && objectKey.startsWith(`${this.prefix}/`)
      ? objectKey.slice(this.prefix.length + 1)
      : objectKey;
  }

  /**
   * Whether the endpoint enforces If-Match / If-None-Match on PutObject (AWS since 2024 does).
   * Found out once per store with a throwaway object next to the tree; the answer is cached.
   */
  supportsConditionalWrites(): Promise<boolean> {
    this.conditional ??= this.probeConditionalWrites();
    return this.conditional;
  }

  atomicCreateOnly(): Promise<boolean> {
    return this.supportsConditionalWrites();
  }

  conditionalWrites(): Promise<boolean> {
    return this.supportsConditionalWrites();
  }

  private async probeConditionalWrites(): Promise<boolean> {
    const Key = this.objectKey(`.pkgpub-probe-${randomBytes(8).toString('hex')}`);
    const put = async (
      extra: Partial<PutObjectCommandInput>,
      content: string,
    ): Promise<'ok' | 'refused' | 'unsupported'> => {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key, Body: Buffer.from(content), ...extra }),
        );
        return 'ok';
      } catch (err) {
        if (isPreconditionFailed(err)) return 'refused';
        if (isNotImplemented(err) || statusOf(err) === 400) return 'unsupported';
        throw this.failure('probe conditional writes with', Key, err);
      }
    };
    try {
      if ((await put({}, 'probe 1')) !== 'ok') return false;
      const etag = quote(createHash('md5').update('probe 1').digest('hex'));
      if ((await put({ IfNoneMatch: '*' }, 'probe 2')) !== 'refused') return false;
      if ((await put({ IfMatch: quote('0'.repeat(32)) }, 'probe 3')) !== 'refused') return false;
      return (await put({ IfMatch: etag }, 'probe 4')) === 'ok';
    } finally {
      await this.deleteOne(Key).catch(() => {});
    }
  }

  private failure(what: string, key: string, err: unknown): StorageError {
    if (isMissingCredentials(err))
      return new StorageError(
        `no AWS credentials for ${this.description}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, ` +
          'or run with a role (in GitHub Actions: aws-actions/configure-aws-credentials before pkgpub)',
        { cause: err },
      );
    return new StorageError(`cannot ${what} ${key} in ${this.description}: ${reasonOf(err)}`, { cause: err });
  }
}

/** x-amz-copy-source's key: each segment URL-encoded ('/' kept), '?' and '#' always escaped. */
function encodeCopyKey(key: string, encode: (s: string) => string): string {
  return key
    .split('/')
    .map((seg) => encode(seg).replace(/[?#]/g, (c) => encodeURIComponent(c)))
    .join('/');
}

/** The MD5 of the bytes when an ETag is one (single-part uploads without SSE-KMS), else undefined. */
export function md5FromEtag(etag: string | undefined): string | undefined {
  const e = unquote(etag)?.toLowerCase();
  return e && /^[0-9a-f]{32}$/.test(e) ? e : undefined;
}

/**
 * SigV4 signs the sha256 of the payload, and the SDK hashes a byte body itself for that unless
 * x-amz-content-sha256 is already set: giving it the digest we hold saved a second pass over every
 * upload on the main thread (0.9 s of 7 s for 1 GB in bench/s3). AWS checks the header
 * against the bytes it receives, so a wrong digest is refused, never stored.
 */
function withPayloadSha256(cmd: PutObjectCommand, sha256: string): PutObjectCommand {
  if (!SHA256_HEX.test(sha256)) return cmd;
  cmd.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (req.headers) req.headers['x-amz-content-sha256'] = sha256;
      return next(args);
    },
    { step: 'build', name: 'pkgpubPayloadSha256' },
  );
  return cmd;
}

function listed(key: string, size?: number, lastModified?: Date, rawEtag?: string): ObjectInfo {
  const info: ObjectInfo = { key, size: size ?? 0, lastModified: lastModified ?? new Date(0) };
  const etag = unquote(rawEtag);
  if (etag) info.etag = etag;
  const md5 = md5FromEtag(etag);
  if (md5) info.md5 = md5;
  return info;
}

function createClient(opts: S3StoreOptions, policy: RetryPolicy): S3Client {
  // pkgpub supports Node 20; the SDK's notice about its own future Node requirement is noise for users.
  if (!process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED)
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const custom =
    opts.endpoint !== undefined && !/\.amazonaws\.com(\.cn)?(:\d+)?(\/|$)/i.test(new URL(opts.endpoint).host);
  const config: S3ClientConfig = {
    retryStrategy: new BackoffRetryStrategy(policy),
    maxAttempts: policy.maxAttempts,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  };
  if (opts.endpoint) config.endpoint = opts.endpoint;
  const region =
    opts.region ??
    (custom && !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION ? 'us-east-1' : undefined);
  if (region) config.region = region;
  config.forcePathStyle = opts.forcePathStyle ?? (opts.endpoint !== undefined && isLocalHost(opts.endpoint));
  if (opts.credentials) config.credentials = opts.credentials;
  if (custom) {
    // Other servers store or refuse the SDK's default aws-chunked CRC framing.
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  return new S3Client(config);
}

function isLocalHost(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
}

function isSafe(key: string): boolean {
  try {
    assertSafeKey(key);
    return true;
  } catch {
    return false;
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
}

function isPreconditionFailed(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  // 409 ConditionalRequestConflict: another conditional write to the key was in flight.
  return statusOf(err) === 412 || name === 'PreconditionFailed' || name === 'ConditionalRequestConflict';
}

function isNotImplemented(err: unknown): boolean {
  return statusOf(err) === 501 || (err as { name?: string }).name === 'NotImplemented';
}

/** One line naming the error and HTTP status; SDK messages never carry credentials. */
/** The SDK's credential chain ran out of providers: no request was even sent. */
function isMissingCredentials(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | undefined;
  return e?.name === 'CredentialsProviderError' || /could not load credentials/i.test(e?.message ?? '');
}

function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return oneLine(String(err));
  const e = err as Error & { code?: string };
  const status = statusOf(err);
  const tag = [e.name !== 'Error' ? e.name : e.code, status ? `HTTP ${status}` : undefined]
    .filter(Boolean)
    .join(', ');
  let msg = e.message && e.message !== 'UnknownError' && e.message !== e.name ? e.message : '';
  if (/region is missing/i.test(msg)) msg += ': pass --region or set AWS_REGION';
  return oneLine(tag ? `${msg}${msg ? ' ' : ''}(${tag})` : msg || 'unknown error');
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function unquote(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

function quote(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function runLimited<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
