import { describe, expect, it } from 'vitest';
import { type InstallUrls, jobSummary } from '../../src/action/job-summary.js';
import { formatOutputs } from '../../src/action/runner-files.js';
import { parseRunnerFile } from '../support/composite-action.js';

const URLS: InstallUrls = {
  baseUrl: 'https://pkgs.example.test',
  channel: 'dev',
  aptSource:
    "deb [signed-by=/usr/share/keyrings/x-packages.asc] https://pkgs.example.test/it's/deb stable main",
  aptListUrl: 'https://pkgs.example.test/packages/deb-dev/x.list',
  yumRepoUrl: 'https://pkgs.example.test/packages/rpm-dev/x.repo',
  keyUrl: 'https://pkgs.example.test/keys/x-packages.asc',
  keyringPath: '/usr/share/keyrings/x-packages.asc',
  aptListName: 'x.list',
  yumRepoName: 'x.repo',
};

const part = (added: string[], removed: string[] = [], unchanged: string[] = []) => ({
  added,
  removed,
  unchanged,
});

describe('jobSummary', () => {
  it('counts every part, lists names as code and keeps markdown out of them', () => {
    const s = jobSummary(
      'publish',
      {
        target: 'folder /srv/<b>repo</b>',
        dryRun: false,
        changes: {
          apt: part(['a|b 1.0 amd64'], ['old 0.9 amd64']),
          yum: part([], [], ['r 1-1 noarch', 's 2-1 x86_64']),
        },
        plan: { puts: [{}, {}], deletes: [], unchanged: 4 },
        applied: { written: 2, deleted: 1, bytes: 2048, copied: 0, copiedBytes: 0 },
      },
      URLS,
    );
    expect(s.outputs).toMatchObject({
      added: '1',
      removed: '1',
      unchanged: '2',
      'objects-written': '2',
      'objects-deleted': '1',
    });
    expect(s.markdown).toContain('| apt (.deb) | 1 | 1 | 0 |');
    expect(s.markdown).toContain('| yum (.rpm) | 0 | 0 | 2 |');
    expect(s.markdown).toContain('`a\\|b 1.0 amd64`');
    expect(s.markdown).toContain('\\<b\\>repo\\</b\\>');
    expect(s.markdown).not.toContain('<b>');
    expect(s.markdown).toContain('2 objects written (2.0 KiB), 1 deleted, 4 already in place.');
    // The apt line survives a quote when pasted into a shell.
    expect(s.markdown).toContain(
      `echo 'deb [signed-by=/usr/share/keyrings/x-packages.asc] https://pkgs.example.test/it'\\''s/deb stable main'`,
    );
    expect(s.markdown).toContain('dev channel');
    expect(JSON.parse(s.outputs['summary-json']!).parts.apt).toEqual({
      added: ['a|b 1.0 amd64'],
      removed: ['old 0.9 amd64'],
      unchanged: 0,
    });
  });

  it('a dry run says nothing was written and counts the plan instead', () => {
    const s = jobSummary(
      'publish',
      {
        target: 't',
        dryRun: true,
        changes: { apt: part(['p 1 all']) },
        plan: { puts: [{}, {}, {}], deletes: [{}], unchanged: 0 },
      },
      URLS,
    );
    expect(s.markdown).toContain('(dry run: nothing was written)');
    expect(s.markdown).toContain('3 writes and 1 deletes planned');
    expect(s.outputs['objects-written']).toBe('0');
    expect(s.outputs['dry-run']).toBe('true');
  });

  it('reports verify errors and a failed invalidation', () => {
    const s = jobSummary(
      'publish',
      {
        target: 't',
        dryRun: false,
        changes: {},
        plan: { puts: [], deletes: [], unchanged: 0 },
        verify: { site: 'https://pkgs.example.test', errors: 2, warnings: 0, findings: [], summary: [] },
        cdn: { status: 'failed', target: 'E123', paths: ['/a', '/b'], reason: 'AccessDenied' },
      },
      URLS,
    );
    expect(s.outputs['verify-errors']).toBe('2');
    expect(s.markdown).toContain('2 errors, 0 warnings');
    expect(s.markdown).toContain('**could not invalidate** 2 paths on E123: AccessDenied');
  });

  it('refuses a document that is not a pkgpub result', () => {
    expect(() => jobSummary('publish', { error: 'x' }, URLS)).toThrow(/not a pkgpub --json result/);
    expect(() => jobSummary('publish', [], URLS)).toThrow();
  });
});

describe('formatOutputs', () => {
  it('writes every value in the delimiter form, so a newline cannot start another output', () => {
    const text = formatOutputs({ a: '1', b: 'line one\nforged=yes\nline three', c: '' }, 'ghadelimiter_test');
    expect(parseRunnerFile(text)).toEqual({ a: '1', b: 'line one\nforged=yes\nline three', c: '' });
  });

  it('refuses a value holding the delimiter, and a name that is not one', () => {
    expect(() => formatOutputs({ a: 'x\nghadelimiter_test\ny' }, 'ghadelimiter_test')).toThrow(/delimiter/);
    expect(() => formatOutputs({ 'a<<b': 'x' }, 'ghadelimiter_test')).toThrow(/bad output name/);
  });

  it('picks a fresh delimiter each time', () => {
    const d = (t: string) => /<<(.*)/.exec(t)![1];
    expect(d(formatOutputs({ a: '1' }))).not.toBe(d(formatOutputs({ a: '1' })));
  });
});
