import { describe, expect, it } from 'vitest';
import { cdnFromSettings } from '../../src/commands/cdn-flags.js';
import { parseConfig } from '../../src/config/parse-config.js';
import { ConfigError, UsageError } from '../../src/errors.js';

describe('cdn settings in pkgpub.yaml', () => {
  it('accepts a CloudFront distribution and paths prefix', () => {
    const file = parseConfig('cdn:\n  cloudfront:\n    distribution_id: E123ABC\n    paths_prefix: /\n');
    expect(file.cdn).toEqual({ cloudfront: { distribution_id: 'E123ABC', paths_prefix: '/' } });
  });

  it('reports every problem at once, with line numbers', () => {
    const text = [
      'project: falco', // 1
      'cdn:', // 2
      '  cloudfront:', // 3
      '    distribution_id: e123-abc', // 4
      '    paths_prefix: downloads', // 5
      '    region: us-east-1', // 6
      '  fastly: {}', // 7
      'apt:', // 8
      '  suite: 3', // 9
    ].join('\n');
    let err: unknown;
    try {
      parseConfig(text, 'p.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(
      /^p\.yaml:4: "cdn\.cloudfront\.distribution_id" must be a CloudFront distribution id/,
    );
    expect(problems[1]).toMatch(
      /^p\.yaml:5: "cdn\.cloudfront\.paths_prefix" must be a path starting with "\/"/,
    );
    expect(problems[2]).toMatch(/^p\.yaml:6: unknown setting "cdn\.cloudfront\.region"/);
    expect(problems[3]).toMatch(/^p\.yaml:7: unknown setting "cdn\.fastly" \(known: cloudfront\)/);
    expect(problems[4]).toMatch(/^p\.yaml:9: "apt\.suite" must be a string/);
  });

  it('rejects a section that is not a mapping', () => {
    expect(() => parseConfig('cdn:\n  cloudfront: E123\n')).toThrow(
      /:2: "cdn\.cloudfront" must be a mapping/,
    );
  });
});

describe('cdnFromSettings', () => {
  const env = {};
  it('is off unless a distribution is named', () => {
    expect(cdnFromSettings(undefined, {}, './public', env)).toBeUndefined();
    expect(cdnFromSettings(undefined, { cdn: { cloudfront: { paths_prefix: '/x' } } }, './public', env)).toBe(
      undefined,
    );
  });

  it('takes the s3:// prefix as the path prefix unless paths_prefix says otherwise', () => {
    const s3 = cdnFromSettings('E1', {}, 's3://bucket/downloads/falco/', env)!;
    expect(s3.description).toBe('CloudFront distribution E1');
    expect(s3.pathsPrefix).toBe('/downloads/falco/');
    expect(cdnFromSettings('E1', {}, 's3://bucket', env)!.pathsPrefix).toBe('/');
    expect(cdnFromSettings('E1', {}, './public', env)!.pathsPrefix).toBe('/');
    const explicit = { cdn: { cloudfront: { distribution_id: 'E2', paths_prefix: '/' } } };
    const origin = cdnFromSettings(undefined, explicit, 's3://bucket/downloads', env)!;
    expect(origin.description).toBe('CloudFront distribution E2');
    expect(origin.pathsPrefix).toBe('/');
  });

  it('lets the flag override the file, and checks the flag and the endpoint', () => {
    const file = { cdn: { cloudfront: { distribution_id: 'E2' } } };
    expect(cdnFromSettings('E3', file, './public', env)!.description).toBe('CloudFront distribution E3');
    expect(() => cdnFromSettings('not-an-id', {}, './public', env)).toThrow(UsageError);
    expect(() =>
      cdnFromSettings('E1', {}, './public', { PKGPUB_CLOUDFRONT_ENDPOINT: 'http://key:secret@127.0.0.1:1' }),
    ).toThrow(/must not contain credentials/);
    expect(() => cdnFromSettings('E1', {}, './public', { PKGPUB_CLOUDFRONT_ENDPOINT: 'ftp://x' })).toThrow(
      /http/,
    );
  });
});
