import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarball } from '../../src/artifacts/read-tarball.js';
import type { TarballArtifact } from '../../src/artifacts/types.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { ContentConflictError } from '../../src/errors.js';
import { applyPlan } from '../../src/transaction/apply.js';
import { makePlan } from '../../src/model/plan.js';
import { probeExisting } from '../../src/transaction/probe.js';
import type { OutputFile } from '../../src/model/tiers.js';
import { type BinState, binSumsSignatures, buildBin } from '../../src/repos/bin/build-bin.js';
import { readBinState } from '../../src/repos/bin/read-bin-state.js';
import { parseSha256Sums } from '../../src/repos/bin/sha256sums.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { makeGpgHome } from '../support/gpg.js';
import { makeTestKey } from '../support/keys.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';

const cfg = resolveConfig({}, { baseUrl: 'https://downloads.example.test' });
const devCfg = resolveConfig({}, { baseUrl: 'https://downloads.example.test', channel: 'dev' });
const now = new Date('2024-05-01T12:00:00Z');
const empty: BinState = { sums: new Map() };
let scratch: string;
let all: TarballArtifact[];
const byName = (n: string) => all.find((t) => t.fileName === n)!;

beforeAll(async () => {
  mkdirSync(scratchRoot, { recursive: true });
  scratch = mkdtempSync(join(scratchRoot, 'build-bin-'));
  const dir = join(fixturesDir, 'bin');
  all = await Promise.all(
    readdirSync(dir)
      .filter((f) => f.endsWith('.tar.gz'))
      .sort()
      .map((f) => readTarball(join(dir, f))),
  );
  expect(all.length).toBeGreaterThanOrEqual(6);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function land(store: FsStore, outputs: OutputFile[], force = false) {
  const plan = makePlan(outputs, await probeExisting(store, outputs), [], { force });
  return applyPlan(plan, store);
}

function text(f: OutputFile): string {
  if (!('bytes' in f.body)) throw new Error(`${f.key} is not in memory`);
  return new TextDecoder().decode(f.body.bytes);
}

/** A valid tarball with a published name but other bytes. */
function rebuilt(fileName: string): string {
  const dir = mkdtempSync(join(scratch, 'other-'));
  mkdirSync(join(dir, 'tree', 'x'), { recursive: true });
  writeFileSync(join(dir, 'tree', 'x', 'other'), `other bytes for ${fileName}\n`);
  execFileSync('tar', ['-C', join(dir, 'tree'), '-czf', join(dir, fileName), 'x']);
  return join(dir, fileName);
}

describe('buildBin', () => {
  it('places tarballs by arch as immutable blobs, with a SHA256SUMS per arch that sha256sum -c accepts', async () => {
    const res = buildBin({ cfg, state: empty, tarballs: all, now });
    expect(res.changed).toBe(true);
    expect(res.blobs.map((b) => b.key).sort()).toEqual(
      all.map((t) => `packages/bin/${t.arch}/${t.fileName}`).sort(),
    );
    expect(res.blobs.every((b) => b.tier === 'blob' && b.immutable === true)).toBe(true);
    // falcoctl's Debian-style arch name still lands in the kernel-named folder.
    expect(res.blobs.map((b) => b.key)).toContain('packages/bin/x86_64/falcoctl-0.10.1-amd64.tar.gz');
    expect(res.files.map((f) => [f.key, f.tier])).toEqual([
      ['packages/bin/aarch64/SHA256SUMS', 'index'],
      ['packages/bin/x86_64/SHA256SUMS', 'index'],
    ]);

    const store = new FsStore(join(scratch, 'full'));
    await land(store, [...res.blobs, ...res.files]);
    for (const arch of ['x86_64', 'aarch64']) {
      const folder = join(store.root, 'packages', 'bin', arch);
      const check = spawnSync('sha256sum', ['--check', '--strict', 'SHA256SUMS'], {
        cwd: folder,
        encoding: 'utf8',
      });
      expect(check.status, check.stderr).toBe(0);
      // sha256sum itself writes the same file for the folder's tarballs, in C-locale name order.
      const names = readdirSync(folder)
        .filter((f) => f.endsWith('.tar.gz'))
        .sort();
      const expected = execFileSync('sha256sum', names, {
        cwd: folder,
        encoding: 'utf8',
        env: { ...process.env, LC_ALL: 'C' },
      });
      expect(readFileSync(join(folder, 'SHA256SUMS'), 'utf8')).toBe(expected);
    }
  });

  it('uses packages/bin-dev on the dev channel', () => {
    const res = buildBin({
      cfg: devCfg,
      state: empty,
      tarballs: [byName('falco-0.39.0-aarch64.tar.gz')],
      now,
    });
    expect(res.blobs[0]!.key).toBe('packages/bin-dev/aarch64/falco-0.39.0-aarch64.tar.gz');
    expect(res.files[0]!.key).toBe('packages/bin-dev/aarch64/SHA256SUMS');
  });

  it('merges with the SHA256SUMS read back from the target, never re-reading published tarballs', async () => {
    const store = new FsStore(join(scratch, 'merge'));
    const first = buildBin({ cfg, state: empty, tarballs: [byName('falco-0.39.0-x86_64.tar.gz')], now });
    await land(store, [...first.blobs, ...first.files]);

    const state = await readBinState(store, cfg, ['x86_64', 'aarch64']);
    expect([...state.sums.keys()]).toEqual(['x86_64']);
    // A line only the published SHA256SUMS knows about (its tarball is not even here) must survive.
    state.sums.get('x86_64')!.set('falco-0.38.0-x86_64.tar.gz', 'ab'.repeat(32));
    const second = buildBin({
      cfg,
      state,
      tarballs: [byName('falco-0.39.0-x86_64.tar.gz'), byName('falco-0.39.0-static-x86_64.tar.gz')],
      now,
    });
    expect(second.changes.added).toEqual(['x86_64/falco-0.39.0-static-x86_64.tar.gz']);
    expect(second.changes.unchanged).toEqual(['x86_64/falco-0.39.0-x86_64.tar.gz']);
    expect(second.blobs.map((b) => b.key)).toEqual(['packages/bin/x86_64/falco-0.39.0-static-x86_64.tar.gz']);
    const sums = parseSha256Sums(text(second.files[0]!));
    expect([...sums.keys()]).toEqual([
      'falco-0.38.0-x86_64.tar.gz',
      'falco-0.39.0-static-x86_64.tar.gz',
      'falco-0.39.0-x86_64.tar.gz',
    ]);
    expect(sums.get('falco-0.38.0-x86_64.tar.gz')).toBe('ab'.repeat(32));
    expect(sums.get('falco-0.39.0-x86_64.tar.gz')).toBe(byName('falco-0.39.0-x86_64.tar.gz').sha256);
  });

  it('changes nothing when every tarball is already listed with the same sha256', async () => {
    const store = new FsStore(join(scratch, 'same'));
    const first = buildBin({ cfg, state: empty, tarballs: all, now });
    await land(store, [...first.blobs, ...first.files]);
    const again = buildBin({
      cfg,
      state: await readBinState(store, cfg, ['x86_64', 'aarch64']),
      tarballs: all,
      now,
    });
    expect(again.changed).toBe(false);
    expect(again.blobs).toEqual([]);
    expect(again.files).toEqual([]);
    expect(again.changes.unchanged).toHaveLength(all.length);
  });

  it('refuses a published name with other bytes unless forced', async () => {
    const original = byName('falco-0.39.0-x86_64.tar.gz');
    const state: BinState = { sums: new Map([['x86_64', new Map([[original.fileName, original.sha256]])]]) };
    const other = await readTarball(rebuilt(original.fileName));
    expect(other.sha256).not.toBe(original.sha256);
    expect(() => buildBin({ cfg, state, tarballs: [other], now })).toThrow(ContentConflictError);
    expect(() => buildBin({ cfg, state, tarballs: [other], now })).toThrow(/--force/);

    const forced = buildBin({ cfg, state, tarballs: [other], force: true, now });
    expect(forced.blobs.map((b) => b.sha256)).toEqual([other.sha256]);
    expect(parseSha256Sums(text(forced.files[0]!)).get(original.fileName)).toBe(other.sha256);
  });

  it('refuses two inputs claiming one name with different bytes, and folds identical twins', async () => {
    const original = byName('falco-0.39.0-x86_64.tar.gz');
    const other = await readTarball(rebuilt(original.fileName));
    expect(() => buildBin({ cfg, state: empty, tarballs: [original, other], force: true, now })).toThrow(
      ContentConflictError,
    );
    const twins = buildBin({
      cfg,
      state: empty,
      tarballs: [original, { ...original, path: '/elsewhere' }],
      now,
    });
    expect(twins.blobs).toHaveLength(1);
  });

  it('reports a damaged SHA256SUMS on the target as a storage error', async () => {
    const store = new FsStore(join(scratch, 'damaged'));
    await store.put('packages/bin/x86_64/SHA256SUMS', {
      bytes: new TextEncoder().encode('not a checksum line\n'),
    });
    await expect(readBinState(store, cfg, ['x86_64'])).rejects.toThrow(
      /SHA256SUMS .* cannot be read back: line 1/,
    );
  });

  it('signs each SHA256SUMS so gpgv verifies it', async () => {
    const key = await makeTestKey();
    const { signer } = await loadSigner({ keyFile: key.secretFile });
    const res = buildBin({ cfg, state: empty, tarballs: all, now });
    const sigs = await binSumsSignatures(res.files, signer);
    expect(sigs.map((s) => [s.key, s.tier])).toEqual([
      ['packages/bin/aarch64/SHA256SUMS.asc', 'index'],
      ['packages/bin/x86_64/SHA256SUMS.asc', 'index'],
    ]);
    const home = makeGpgHome();
    try {
      const ring = home.file(
        'ring.gpg',
        execFileSync('gpg', ['--homedir', home.dir, '--batch', '--dearmor'], { input: key.publicArmored }),
      );
      for (const [i, sig] of sigs.entries()) {
        const data = home.file(`sums-${i}`, text(res.files[i]!));
        const asc = home.file(`sums-${i}.asc`, text(sig));
        const ok = spawnSync('gpgv', ['--keyring', ring, asc, data], { encoding: 'utf8' });
        expect(ok.status, ok.stderr).toBe(0);
        writeFileSync(data, `${text(res.files[i]!)}tampered\n`);
        expect(spawnSync('gpgv', ['--keyring', ring, asc, data]).status).not.toBe(0);
      }
    } finally {
      home.cleanup();
    }
  });
});
