import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { historyKey, parseHistory } from '../../src/model/history.js';
import { FsStore } from '../../src/storage/fs-store.js';
import type { ObjectStore } from '../../src/storage/object-store.js';
import type { TransactionProgress } from '../../src/transaction/transaction.js';
import { aptProblems, aptVersions, makeAptRoot } from './apt.js';
import { type DnfRepoOptions, dnfNevras, makeDnfRoot } from './dnf.js';
import type { FaultProxy } from './fault-proxy.js';
import { PauseBeforeWrite } from './pause-store.js';
import { type S3rverHandle, storeOn } from './s3rver.js';

// A command and a publish into the same channel, started together, in one process so the
// interleaving is made and not hoped for: the command runs until just before its first write of a
// chosen key (it has read the state and decided), the publish starts there on a store of its own,
// and the command goes on once the publish has either finished (an optimistic target: the command
// then meets the publish's commit and re-reads) or is seen waiting for the command's lease (a
// folder or a store without conditional writes: the publish lands after it). Waiting for the
// publish to finish on a lease target would wait for ever.

export interface RacedOutcome<A, B> {
  command: PromiseSettledResult<A>;
  publish: PromiseSettledResult<B>;
  commandSteps: string[];
  publishSteps: string[];
  /** The publish was seen waiting for the command's lease (else it had finished when the command went on). */
  publishWaited: boolean;
}

/**
 * The longest the command is held for the publish: far above a small publish. The command's lease
 * is renewed meanwhile (its timer runs in this process), so holding it costs the lease nothing.
 */
const HOLD_MS = 30_000;

export async function raceWithPublish<A, B>(opts: {
  /** A store on the tree; each command gets its own, as two processes would. */
  store(): ObjectStore;
  /** The command stops before its first write of a key ending in this: a pointer, so it has decided and commits next. */
  pauseBefore: string;
  command(store: ObjectStore, progress: TransactionProgress): Promise<A>;
  publish(store: ObjectStore, progress: TransactionProgress): Promise<B>;
}): Promise<RacedOutcome<A, B>> {
  const commandSteps: string[] = [];
  const publishSteps: string[] = [];
  let publishing: Promise<B> | undefined;
  let publishWaited = false;
  let paused = false;
  const store = new PauseBeforeWrite(opts.store(), opts.pauseBefore, async () => {
    paused = true;
    const running = opts.publish(opts.store(), { onStep: (l) => publishSteps.push(l) });
    publishing = running;
    const end = Date.now() + HOLD_MS;
    let finished = false;
    // Its failure is the test's to judge (as `publish` below), not an unhandled rejection here.
    running.then(
      () => (finished = true),
      () => (finished = true),
    );
    while (!finished && Date.now() < end) {
      if (publishSteps.some((l) => /^waiting for pkgpub /.test(l))) {
        publishWaited = true;
        return;
      }
      await sleep(20);
    }
  });
  const command = await Promise.allSettled([
    opts.command(store, { onStep: (l) => commandSteps.push(l) }),
  ]).then((r) => r[0]!);
  // The race really was one: the command reached its commit and the publish started there.
  expect(
    paused,
    `the command never wrote a key ending in ${opts.pauseBefore}: ${commandSteps.join('; ')}`,
  ).toBe(true);
  const publish = await Promise.allSettled([publishing!]).then((r) => r[0]!);
  return { command, publish, commandSteps, publishSteps, publishWaited };
}

/** The value of a command that must have succeeded, or a failure that shows what it said. */
export function succeeded<T>(r: PromiseSettledResult<T>, steps: string[]): T {
  if (r.status === 'rejected')
    throw new Error(`${(r.reason as Error).message}\nsteps:\n${steps.join('\n')}`, { cause: r.reason });
  return r.value;
}

/** The commands of a channel's history generations, oldest first. */
export async function historyCommands(store: ObjectStore, channel: string): Promise<string[]> {
  const parsed = parseHistory(await store.get(historyKey(channel)), channel);
  if (!parsed.ok) throw new Error(`the history of ${channel} is damaged: ${parsed.reason}`);
  return parsed.record.entries.map((e) => e.command);
}

export interface ServedDeb {
  name: string;
  version: string;
  /** The sha256 the downloaded .deb must have. */
  sha256: string;
}

/**
 * What real clients make of the channel, signature checks on: apt-get update with no warning, every
 * deb at its version downloaded with its bytes; dnf (repo_gpgcheck and gpgcheck) installs every
 * named rpm and knows exactly `nevras`.
 */
export async function expectClientsServe(t: {
  /** `deb [signed-by=KEY] URL stable main` */
  aptSource: string;
  debs: ServedDeb[];
  dnf?: { repo: DnfRepoOptions | { repoFile: string }; nevras: string[]; install: string[] };
}): Promise<void> {
  const apt = await makeAptRoot(t.aptSource);
  const up = await apt.apt('apt-get', ['update']);
  expect(up.code, up.out).toBe(0);
  expect(aptProblems(up.out)).toEqual([]);
  for (const d of t.debs) {
    expect(await aptVersions(apt, d.name), d.name).toContain(d.version);
    const dl = await apt.apt('apt-get', ['download', `${d.name}=${d.version}`]);
    expect(dl.code, dl.out).toBe(0);
    const got = (await readdir(join(apt.dir, 'dl'))).find((f) => f.startsWith(`${d.name}_`));
    expect(got, dl.out).toBeDefined();
    const file = join(apt.dir, 'dl', got!);
    expect(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
      file,
    ).toBe(d.sha256);
    await rm(file);
  }
  if (!t.dnf) return;
  const dnf = await makeDnfRoot(t.dnf.repo);
  expect(await dnfNevras(dnf)).toEqual([...t.dnf.nevras].sort());
  const inst = await dnf.dnf(['install', ...t.dnf.install]);
  expect(inst.code, inst.out).toBe(0);
  expect(inst.out).toMatch(/Complete!/);
}

/** Where a race runs: a store on the tree, and the URL clients read it from. */
export interface RaceTree {
  label: string;
  /** Conditional writes (no lease): the command that is overtaken re-reads instead of waiting. */
  optimistic: boolean;
  store(): ObjectStore;
  /** The tree's root as clients fetch it (file:// or http://), no trailing slash. */
  url: string;
}

export function folderRaceTree(root: string): RaceTree {
  return { label: 'a folder', optimistic: false, store: () => new FsStore(root), url: `file://${root}` };
}

/** s3rver behind the proxy that enforces If-Match (the path AWS takes); clients read s3rver directly. */
export function conditionalS3RaceTree(s3: S3rverHandle, proxy: FaultProxy, prefix: string): RaceTree {
  return {
    label: 's3rver behind the If-Match proxy',
    optimistic: true,
    store: () => storeOn(s3, prefix, { endpoint: proxy.endpoint, retry: { baseDelayMs: 5 } }),
    url: `${s3.endpoint}/${s3.bucket}/${prefix}`,
  };
}
