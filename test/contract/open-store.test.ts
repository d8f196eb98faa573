import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { openStore } from '../../src/storage/open-store.js';
import { parseS3Url } from '../../src/storage/parse-s3-url.js';
import { S3Store } from '../../src/storage/s3-store.js';
import { type S3rverHandle, startS3rver } from '../support/s3rver.js';

describe('parseS3Url', () => {
  it('splits bucket and prefix and normalizes slashes', () => {
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Url('s3://my-bucket/')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(parseS3Url('s3://download.example.org/a/b/')).toEqual({
      bucket: 'download.example.org',
      prefix: 'a/b',
    });
  });

  it('refuses malformed URLs with a usage error', () => {
    for (const bad of [
      's3://',
      's3:///x',
      's3://b/../x',
      's3://bucket//x',
      's3://bucket/a/./b',
      'http://bucket/x',
      's3://x',
      's3://bad bucket/x',
    ]) {
      expect(() => parseS3Url(bad), bad).toThrow(UsageError);
    }
  });
});

describe('openStore', () => {
  let server: S3rverHandle;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(async () => {
    server = await startS3rver();
    // The SDK's standard chain is the only way credentials reach an S3 target from the CLI.
    process.env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
  });
  afterAll(async () => {
    for (const [k, v] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await server?.stop();
  });

  it('opens s3:// with the endpoint from PKGPUB_S3_ENDPOINT and credentials from the environment', async () => {
    const store = await openStore(`s3://${server.bucket}/site/`, {}, { PKGPUB_S3_ENDPOINT: server.endpoint });
    expect(store).toBeInstanceOf(S3Store);
    expect(store.description).toBe(`s3://${server.bucket}/site`);
    await store.put('driver/1.0+driver/x.ko', { bytes: new TextEncoder().encode('ko') });
    expect(new TextDecoder().decode(await store.get('driver/1.0+driver/x.ko'))).toBe('ko');
    // The prefix is a folder in the bucket: a plain GET finds the object under it.
    const res = await fetch(`${server.endpoint}/${server.bucket}/site/driver/1.0%2Bdriver/x.ko`);
    expect(await res.text()).toBe('ko');
  });

  it('lets --endpoint win over PKGPUB_S3_ENDPOINT', async () => {
    const store = await openStore(
      `s3://${server.bucket}`,
      { endpoint: server.endpoint, region: 'eu-west-1' },
      { PKGPUB_S3_ENDPOINT: 'http://127.0.0.1:9' },
    );
    await store.put('x', { bytes: new Uint8Array([1]) });
    expect((await store.head('x'))?.size).toBe(1);
  });

  it('opens folders, and refuses S3 flags on them and other schemes', async () => {
    expect(await openStore('test-artifacts/tmp/open-store-folder', {}, {})).toBeInstanceOf(FsStore);
    await expect(openStore('./public', { endpoint: server.endpoint }, {})).rejects.toThrow(UsageError);
    await expect(openStore('gs://bucket/x', {}, {})).rejects.toThrow(UsageError);
    await expect(openStore('s3://bucket/x', { endpoint: 'ftp://127.0.0.1' }, {})).rejects.toThrow(UsageError);
    await expect(openStore('s3://bucket/x', { endpoint: 'not a url' }, {})).rejects.toThrow(UsageError);
    await expect(openStore('s3://bucket/x', { hardlink: true }, {})).rejects.toThrow(
      /--hardlink only applies to folder targets/,
    );
  });

  it('refuses an endpoint carrying credentials without echoing them', async () => {
    const err = await openStore(
      's3://bucket/x',
      { endpoint: 'http://AKIAEXAMPLE:s3cr3t@127.0.0.1:9000' },
      {},
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).not.toContain('s3cr3t');
  });

  it('names the key and the target in one line when the server is unreachable', async () => {
    const store = new S3Store({
      bucket: 'b',
      prefix: 'p',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret-value' },
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    });
    const err = (await store.get('a/b.txt').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/^cannot read a\/b\.txt in s3:\/\/b\/p: /);
    expect(err.message).not.toContain('\n');
    expect(err.message).not.toContain('very-secret-value');
  });
});
