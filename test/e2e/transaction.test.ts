import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PublishResult, publish } from '../../src/changes/publish.js';
import { pruneDrivers } from '../../src/changes/prune-drivers.js';
import { rebuildSite } from '../../src/changes/rebuild-site.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { acquireLease, LEASE_KEY } from '../../src/transaction/lease.js';
import { driverVersionFolder } from '../support/driver-versions.js';
import { fixturesDir, scratchRoot } from '../support/paths.js';
import { PauseBeforeWrite } from '../support/pause-store.js';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(scratchRoot, 'transaction-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const cfg = resolveConfig({});
let n = 0;
const freshRepo = () => join(scratch, `repo-${n++}`);

function writeLease(repo: string, body: Record<string, unknown>): void {
  writeFileSync(join(repo, LEASE_KEY), JSON.stringify(body));
}

function leaseBody(over: Record<string, unknown>) {
  const now = Date.now();
  return {
    host: hostname(),
    pidns: readlinkSync('/proc/self/ns/pid'),
    pid: process.pid,
    token: 'not-a-live-token',
    command: 'publish',
    acquired: new Date(now - 60_000).toISOString(),
    renewed: new Date(now - 1_000).toISOString(),
    expires: new Date(now + 10 * 60_000).toISOString(),
    ...over,
  };
}

/** The pid of a process that has exited (and been reaped), so nothing answers to it. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('the lease', () => {
  it('is taken over at once when its holder was a process on this host that is gone (kill -9)', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    const pid = deadPid();
    writeLease(repo, leaseBody({ pid, token: 'dead' }));
    const said: string[] = [];
    const t0 = Date.now();
    const lease = await acquireLease(store, { waitMs: 20_000, onWait: (l) => said.push(l) });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(said.join('\n')).toContain(`process ${pid} on this host is gone`);
    const body = JSON.parse(readFileSync(join(repo, LEASE_KEY), 'utf8')) as { pid: number };
    expect(body.pid).toBe(process.pid);
    await lease.release();
    expect(existsSync(join(repo, LEASE_KEY))).toBe(false);
  });

  it('of a process in another pid namespace under the same host name is not judged by pid', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    // A container sharing the host's name (--network host): its pid means nothing here.
    writeLease(repo, leaseBody({ pid: deadPid(), pidns: 'pid:[1]', token: 'container' }));
    await expect(acquireLease(store, { waitMs: 300 })).rejects.toThrow(/held by pkgpub publish/);
  });

  it('left behind by this very process (a release that failed) is taken over at once', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    writeLease(repo, leaseBody({}));
    const lease = await acquireLease(store, { waitMs: 1_000 });
    await lease.release();
  });

  it('held by a live process is waited for; the error says who, since when, and what to do', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    // Alive on this host (the test runner's parent), and on another host nobody can check.
    for (const holder of [
      { pid: process.ppid, host: hostname() },
      { pid: 4242, host: 'ci-runner-7' },
    ]) {
      writeLease(repo, leaseBody({ ...holder, command: 'drivers prune' }));
      const said: string[] = [];
      const t0 = Date.now();
      const err = await acquireLease(store, { waitMs: 400, onWait: (l) => said.push(l) }).catch((e) => e);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      expect(String(err)).toMatch(
        new RegExp(
          `held by pkgpub drivers prune on ${holder.host} \\(pid ${holder.pid}\\) since \\d{4}-.*Wait for that command to finish`,
        ),
      );
      expect(said).toEqual([
        `waiting for pkgpub drivers prune on ${holder.host} (pid ${holder.pid}) to finish`,
      ]);
      // Waiting changed nothing.
      expect(JSON.parse(readFileSync(join(repo, LEASE_KEY), 'utf8')).pid).toBe(holder.pid);
    }
  });

  it('on another host is taken over once it has not been renewed for its lease time', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    writeLease(
      repo,
      leaseBody({ host: 'ci-runner-7', pid: 4242, expires: new Date(Date.now() - 1).toISOString() }),
    );
    const said: string[] = [];
    const lease = await acquireLease(store, { waitMs: 1_000, onWait: (l) => said.push(l) });
    expect(said.join('\n')).toMatch(
      /took over the lease of pkgpub publish on ci-runner-7 \(pid 4242\): its lease lapsed/,
    );
    await lease.release();
  });

  it('is renewed while its holder works, so it outlives its lease time without being taken over', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    const a = await acquireLease(store, { ttlMs: 600, renewMs: 100 });
    const first = JSON.parse(readFileSync(join(repo, LEASE_KEY), 'utf8')) as {
      expires: string;
      token: string;
    };
    await sleep(1_500);
    const later = JSON.parse(readFileSync(join(repo, LEASE_KEY), 'utf8')) as {
      expires: string;
      token: string;
    };
    expect(later.token).toBe(first.token);
    expect(Date.parse(later.expires)).toBeGreaterThan(Date.parse(first.expires) + 500);
    // Someone on another host takes it (as after a stall): the next comer waits for that one.
    // A folder has no atomic compare-and-swap: a renewal already between its check and its write
    // can land on top of this takeover (on a loaded machine it does). Then take it over again: the
    // holder's next renewal meets the changed file.
    for (let i = 0; i < 5; i++) {
      writeLease(repo, {
        ...later,
        host: 'ci-runner-7',
        pid: 4242,
        expires: new Date(Date.now() + 10 * 60_000).toISOString(),
      });
      await sleep(250);
      if (readFileSync(join(repo, LEASE_KEY), 'utf8').includes('ci-runner-7')) break;
    }
    await expect(acquireLease(store, { waitMs: 300 })).rejects.toThrow(
      /held by pkgpub publish on ci-runner-7/,
    );
    // The lease file now names someone else: the holder notices at its next renewal.
    await sleep(300);
    expect(() => a.assertHeld()).toThrow(/lost the lease .* another command took the lease over/);
    await a.release();
    // Released without deleting what is not its own.
    expect(existsSync(join(repo, LEASE_KEY))).toBe(true);
  });

  it('that lapsed without a renewal (a stalled holder) stops its holder before it commits', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    const a = await acquireLease(store, { ttlMs: 200, renewMs: 60_000 });
    expect(() => a.assertHeld()).not.toThrow();
    await sleep(300);
    expect(() => a.assertHeld()).toThrow(/lapsed at .* without a renewal/);
    await a.release();
  });

  it('lets only one of many racing commands in at a time', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await store.put('x', { bytes: new Uint8Array(1) });
    let inside = 0;
    let most = 0;
    let entered = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const lease = await acquireLease(store, { waitMs: 30_000 });
        inside++;
        entered++;
        most = Math.max(most, inside);
        await sleep(30);
        inside--;
        await lease.release();
      }),
    );
    expect(entered).toBe(6);
    expect(most).toBe(1);
    expect(existsSync(join(repo, LEASE_KEY))).toBe(false);
  });
});

function versionsIn(repo: string): string[] {
  return JSON.parse(readFileSync(join(repo, 'driver/site/index.json'), 'utf8')) as string[];
}

function listed(repo: string, folder: string): string[] {
  const l = JSON.parse(readFileSync(join(repo, folder, 'listing.json'), 'utf8')) as {
    entries: { name: string }[];
  };
  return l.entries.map((e) => e.name);
}

/** A folder with one driver version published, whose lease a live command on another host holds. */
async function heldByAnotherHost() {
  const repo = freshRepo();
  const store = new FsStore(repo);
  await publish({
    inputs: [driverVersionFolder(join(scratch, `in-${n}`), '1.0.0+driver', { count: 1 })],
    store,
    cfg,
  });
  writeLease(repo, leaseBody({ host: 'ci-runner-7', pid: 4242 }));
  return { repo, store };
}

describe('every command that changes a folder takes its lease', () => {
  it('a drivers prune racing a publish: the publish waits, and neither loses the other', async () => {
    const repo = freshRepo();
    const inputs = join(scratch, `inputs-${n}`);
    const versions = ['1.0.0+driver', '2.0.0+driver', '3.0.0+driver'].map((v) =>
      driverVersionFolder(inputs, v, { count: 4 }),
    );
    const v4 = driverVersionFolder(inputs, '4.0.0+driver', { count: 4 });
    await publish({ inputs: versions, store: new FsStore(repo), cfg });
    expect(versionsIn(repo)).toEqual(['3.0.0+driver', '2.0.0+driver', '1.0.0+driver']);

    const steps: string[] = [];
    let publishing: Promise<PublishResult> | undefined;
    // The prune has read the versions and holds the lease; a publish starts and must wait for it.
    const paused = new PauseBeforeWrite(new FsStore(repo), 'driver/site/index.json', async () => {
      publishing = publish({
        inputs: [v4],
        store: new FsStore(repo),
        cfg,
        progress: { onStep: (l) => steps.push(l) },
      });
      await until(
        () => steps.some((l) => l.startsWith('waiting for pkgpub drivers prune')),
        'the publish to wait',
      );
    });
    const pruned = await pruneDrivers({ store: paused, cfg, keep: 2 });
    expect(pruned.report.remove).toEqual(['1.0.0+driver']);
    const published = await publishing!;
    expect(published.changes.drivers.added).toHaveLength(4);
    expect(versionsIn(repo)).toEqual(['4.0.0+driver', '3.0.0+driver', '2.0.0+driver']);
    expect(existsSync(join(repo, 'driver/site/4.0.0+driver.json'))).toBe(true);
    expect(existsSync(join(repo, 'driver/site/1.0.0+driver.json'))).toBe(false);
    // The pruned version's drivers are held by the driver tree's history (drivers rollback can
    // bring them back), so its folder stays listed until that generation is trimmed.
    expect(existsSync(join(repo, 'driver/1.0.0+driver'))).toBe(true);
    expect(listed(repo, 'driver').sort()).toEqual([
      '1.0.0+driver',
      '2.0.0+driver',
      '3.0.0+driver',
      '4.0.0+driver',
      'site',
    ]);
    const history = JSON.parse(readFileSync(join(repo, '.pkgpub-history/drivers.json'), 'utf8')) as {
      entries: { command: string }[];
    };
    expect(history.entries.map((e) => e.command)).toEqual(['publish', 'drivers prune', 'publish']);
    expect(readFileSync(join(repo, 'driver/site/index.html'), 'utf8')).toContain('4.0.0+driver');
    expect(existsSync(join(repo, LEASE_KEY))).toBe(false);
  });

  it('site rebuild waits for a held lease like every other command', async () => {
    const { repo, store } = await heldByAnotherHost();
    await expect(rebuildSite({ store, cfg, lease: { waitMs: 300 } })).rejects.toThrow(
      /held by pkgpub publish on ci-runner-7/,
    );
    rmSync(join(repo, LEASE_KEY));
    const rebuilt = await rebuildSite({ store, cfg });
    expect(rebuilt.report.folders).toBeGreaterThan(3);
    expect(existsSync(join(repo, LEASE_KEY))).toBe(false);
  });

  it('site rebuild never deletes the bookkeeping: the garbage record, the channel history, its own lease', async () => {
    const repo = freshRepo();
    const store = new FsStore(repo);
    await publish({ inputs: [join(fixturesDir, 'deb', 'falco_0.38.1_amd64.deb')], store, cfg });
    // Removing the package leaves it pending as garbage for the grace period (with no earlier
    // generation kept by the history, it goes to the garbage record at once).
    const noHistory = { ...cfg, rollback: { generations: 0 } };
    await publish({ inputs: [], removals: [{ name: 'falco' }], store, cfg: noHistory, gcGraceMs: 3_600_000 });
    const garbage = readFileSync(join(repo, '.pkgpub-garbage.json'), 'utf8');
    const history = readFileSync(join(repo, '.pkgpub-history/stable.json'), 'utf8');
    let leaseSeen = false;
    const watching = new PauseBeforeWrite(store, 'listing.json', async () => {
      leaseSeen = existsSync(join(repo, LEASE_KEY));
    });
    const rebuilt = await rebuildSite({ store: watching, cfg });
    expect(leaseSeen).toBe(true);
    expect(rebuilt.plan.deletes.filter((k) => k.includes('.pkgpub'))).toEqual([]);
    expect(readFileSync(join(repo, '.pkgpub-garbage.json'), 'utf8')).toBe(garbage);
    expect(readFileSync(join(repo, '.pkgpub-history/stable.json'), 'utf8')).toBe(history);
    expect(
      rebuilt.plan.tiers.flatMap((t) => t.steps.map((s) => s.file.key)).filter((k) => k.includes('.pkgpub')),
    ).toEqual([]);
  });

  it('a dry run takes no lease and writes nothing', async () => {
    const { repo, store } = await heldByAnotherHost();
    const before = readFileSync(join(repo, 'driver/site/index.json'), 'utf8');
    const dry = await pruneDrivers({ store, cfg, keep: 1, dryRun: true, lease: { waitMs: 100 } });
    expect(dry.applied).toBeUndefined();
    const dryPublish = await publish({
      inputs: [driverVersionFolder(join(scratch, `in2-${n}`), '2.0.0+driver', { count: 1 })],
      store,
      cfg,
      dryRun: true,
      lease: { waitMs: 100 },
    });
    expect(dryPublish.plan.tiers.length).toBeGreaterThan(0);
    expect(readFileSync(join(repo, 'driver/site/index.json'), 'utf8')).toBe(before);
    expect(existsSync(join(repo, 'driver/2.0.0+driver'))).toBe(false);
  });
});
