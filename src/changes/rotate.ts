import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readKey, readKeys, revokeKey } from 'openpgp';
import { readRpm } from '../artifacts/read-rpm.js';
import {
  HEADER_PREAMBLE_SIZE,
  LEAD_SIZE,
  parseHeader,
  RpmFormatError,
  readHeaderPreamble,
} from '../formats/rpm-header.js';
import { rpmSignature } from '../formats/rpm-package.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { SigningError, StorageError, UsageError } from '../errors.js';
import { mapLimit } from '../map-limit.js';
import { bytesFile } from '../model/output-file.js';
import { mergePlans, type Plan } from '../model/plan.js';
import type { OutputFile } from '../model/tiers.js';
import { gpgkeyUrls, keyFilesOf, keyNames } from '../repos/apt/apt-extras.js';
import { distsPrefix } from '../repos/apt/build-apt.js';
import { driverSitePrefix, versionListKey } from '../repos/drivers/build-drivers.js';
import { clearsignedBody, readAptStateAt } from '../repos/apt/read-apt-state.js';
import { binFolder, binSumsSignatures, SUMS_FILE } from '../repos/bin/build-bin.js';
import { parseSha256Sums } from '../repos/bin/sha256sums.js';
import {
  KEYS_STATE_KEY,
  type KeysState,
  keyRef,
  readKeysState,
  renderKeysState,
} from '../repos/keys-state.js';
import { blobSignatures, SignatureDigests, signedReleaseFiles } from '../repos/sign-outputs.js';
import { buildYum, type YumEntry } from '../repos/yum/build-yum.js';
import { readYumState, repodataPrefix } from '../repos/yum/read-yum-state.js';
import { repomdPointerFiles } from '../repos/yum/sign-repomd.js';
import {
  type PreparedRpm,
  prepareSignedRpms,
  preparedAsIs,
  signerKeyId,
} from '../repos/yum/sign-rpm-file.js';
import { yumRepoFile } from '../repos/yum/yum-extras.js';
import { signatureIssuers, sameIssuers } from '../signing/issuers.js';
import { MultiSigner, signersOf } from '../signing/multi-signer.js';
import { prehashDigest } from '../signing/prehash.js';
import type { Signer } from '../signing/signer.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { HistoryIntent } from '../transaction/run-sections.js';
import {
  type AttemptContext,
  type ChangeOptions,
  runTransaction,
  type TransactionResult,
} from '../transaction/transaction.js';

export type RotatePhase = 'add' | 'switch' | 'retire';

export interface RotateRequest extends Omit<ChangeOptions, 'cfg'> {
  phase: RotatePhase;
  /** The tree's configuration for each of its channels (stable, dev): same project and base URL. */
  cfgs: ResolvedConfig[];
  /** The key the tree is signed with now (add, switch: it still co-signs the pointers). */
  current?: Signer;
  /** The key that takes over. */
  next?: Signer;
  /** retire: an armored revocation certificate of the old key, published with its file. */
  revocation?: string;
}

export interface RotateReport {
  phase: RotatePhase;
  old: string;
  new: string;
  /** What each channel had re-signed: keys whose signatures were made again. */
  channels: Record<string, { resigned: string[] }>;
}

export interface RotateResult {
  report: RotateReport;
  /** Every transaction's plan, merged (the keys' and each channel's). */
  plan: Plan;
  results: TransactionResult<unknown>[];
}

/**
 * `pkgpub keys rotate add|switch|retire`: one transaction for the key files and
 * `.pkgpub-keys.json`, and one per channel for what that channel's clients read (a channel's
 * history is its own). Every phase skips what is already as the phase wants it, so a run that was
 * cut off is completed by the next, and a finished phase run again writes nothing.
 *
 * Order, so that a run cut off anywhere leaves a tree every client of the phase before can read:
 * - add: keys and state first (a publish in between already co-signs), then each channel's
 *   InRelease and Release.gpg, co-signed; packages stay as the old key signed them.
 * - switch: each channel (rpms, every `.asc`, repomd.xml.asc and SHA256SUMS.asc signed again by
 *   the new key, apt's Release still by both), then the state: a publish keeps signing packages
 *   with the old key until every channel is through, and what it adds meanwhile the next switch
 *   run re-signs.
 * - retire: keys and state first (the alias without the old key), then each channel's pointers,
 *   signed by the new key alone.
 */
export async function rotate(req: RotateRequest): Promise<RotateResult> {
  const cfg = req.cfgs[0];
  if (!cfg) throw new UsageError('keys rotate: no channel configuration');
  const { phase, cfgs, current, next, revocation, ...opts } = req;
  const state = await readKeysState(req.store);
  const keys = resolveKeys(phase, state, current, next);
  if (phase === 'add' && current) await assertPublishedKey(req.store, cfg, current);
  const report: RotateReport = { phase, old: keys.old.fingerprint, new: keys.new.fingerprint, channels: {} };
  const results: TransactionResult<unknown>[] = [];
  const keysRun = () =>
    runTransaction(
      { ...opts, cfg, command: `keys rotate ${phase}`, fingerprint: keys.packages.fingerprint },
      {
        async describe(ctx) {
          return { outputs: await keyOutputs(ctx, keys, revocation), report: undefined };
        },
      },
    );
  const channelRun = async (c: ResolvedConfig) =>
    runTransaction(
      {
        ...opts,
        cfg: c,
        command: `keys rotate ${phase}`,
        // The root page names the key packages are signed with, as a publish's does.
        fingerprint: keys.packages.fingerprint,
      },
      {
        async describe(ctx) {
          const built = await channelOutputs({ ...ctx, cfg: c }, keys);
          report.channels[c.channel] = { resigned: built.resigned };
          return {
            // Every blob a channel run writes replaces one in place (a re-signed rpm or .asc): as
            // an index it is sent no-cache and invalidated on the CDN, where a blob would be cached
            // as immutable for a year. The tier still comes before the pointers.
            outputs: built.outputs.map((o) => (o.tier === 'blob' ? { ...o, tier: 'index' as const } : o)),
            ...(built.history ? { history: [built.history] } : {}),
            report: undefined,
            cleanup: built.cleanup,
          };
        },
      },
    );
  if (phase !== 'switch') results.push(await keysRun());
  for (const c of cfgs) results.push(await channelRun(c));
  if (phase === 'switch') results.push(await keysRun());
  const plan = results.map((r) => r.plan).reduce((a, b) => mergePlans(a, b));
  return { report, plan, results };
}

/**
 * The key `add` is told is the current one must be the one the tree publishes: co-signing with
 * another would hand the alias, and apt's trust, to a key the tree's users never had.
 */
async function assertPublishedKey(store: ObjectStore, cfg: ResolvedConfig, current: Signer): Promise<void> {
  const alias = keyNames(cfg, current.fingerprint).alias;
  const bytes = await store.get(alias);
  if (!bytes) return;
  let published: string[];
  try {
    published = (await readKeys({ armoredKeys: text(bytes) })).map((k) => k.getFingerprint().toUpperCase());
  } catch {
    throw new StorageError(`${alias} in ${store.description} cannot be read as OpenPGP keys`);
  }
  if (!published.includes(current.fingerprint))
    throw new UsageError(
      `keys rotate add: the current key ${current.fingerprint} is not the one this tree publishes (${alias} holds ${published.join(', ')}); pass that key with --signing-key`,
    );
}

interface RotationKeys {
  phase: RotatePhase;
  old: Signer | { fingerprint: string; signingKeyFingerprint: string };
  new: Signer;
  /** Signs apt's InRelease and Release.gpg in this phase: both keys until retire. */
  pointers: Signer;
  /**
   * Signs packages, their `.asc`, repomd.xml.asc and SHA256SUMS.asc: one key, whose clients
   * (rpm, dnf, gpg --verify) want one signature they can check.
   */
  packages: Signer;
  /** switch: what `packages` did not sign is signed again (add and retire leave packages be). */
  resign: boolean;
  /**
   * switch run again on a tree whose switch finished (its state is recorded last): an rpm whose
   * header the new key signed is the one the repodata names, so its header alone is read.
   */
  finished?: boolean;
  /** `.pkgpub-keys.json` once the phase is through. */
  state: KeysState;
}

/** Which keys do what in `phase`, given where the tree stands; refuses phases out of order. */
function resolveKeys(
  phase: RotatePhase,
  state: KeysState | undefined,
  current: Signer | undefined,
  next: Signer | undefined,
): RotationKeys {
  const since = new Date().toISOString();
  const need = (s: Signer | undefined, what: string): Signer => {
    if (!s) throw new UsageError(`keys rotate ${phase}: ${what}`);
    return s;
  };
  if (phase === 'add') {
    const oldKey = need(current, 'the current key is needed (--signing-key FILE or PKGPUB_SIGNING_KEY)');
    const newKey = need(next, 'the new key is needed (--new-key FILE or PKGPUB_NEW_SIGNING_KEY)');
    if (oldKey.fingerprint === newKey.fingerprint)
      throw new UsageError(`keys rotate add: the new key is the current key (${newKey.fingerprint})`);
    if (state && state.phase !== 'retired') {
      const same =
        state.old.fingerprint === oldKey.fingerprint && state.new.fingerprint === newKey.fingerprint;
      if (!same || state.phase !== 'add')
        throw new UsageError(
          `keys rotate add: a rotation from ${state.old.fingerprint} to ${state.new.fingerprint} is in phase "${state.phase}"; ${state.phase === 'add' ? 'finish it first' : 'run `keys rotate retire` next'}`,
        );
    }
    if (state?.phase === 'retired' && state.new.fingerprint !== oldKey.fingerprint)
      throw new UsageError(
        `keys rotate add: this tree is signed by ${state.new.fingerprint}, not by the given current key ${oldKey.fingerprint}`,
      );
    return {
      phase,
      old: oldKey,
      new: newKey,
      pointers: new MultiSigner([oldKey, newKey]),
      packages: oldKey,
      resign: false,
      state: { phase: 'add', old: keyRef(oldKey), new: keyRef(newKey), since },
    };
  }
  if (!state || (state.phase === 'retired' && phase === 'switch'))
    throw new UsageError(
      `keys rotate ${phase}: no key rotation is under way here (run \`keys rotate add\` first)`,
    );
  const loaded = [current, next].filter((s): s is Signer => s !== undefined);
  const find = (fpr: string) => loaded.find((s) => s.fingerprint === fpr);
  const newKey = find(state.new.fingerprint);
  if (!newKey)
    throw new UsageError(
      `keys rotate ${phase}: the new key ${state.new.fingerprint} is needed (--new-key FILE or PKGPUB_NEW_SIGNING_KEY)`,
    );
  if (phase === 'switch') {
    const oldKey = find(state.old.fingerprint);
    if (!oldKey)
      throw new UsageError(
        `keys rotate switch: the old key ${state.old.fingerprint} is needed too, to keep co-signing what clients of the old key read (--signing-key FILE or PKGPUB_SIGNING_KEY)`,
      );
    return {
      phase,
      old: oldKey,
      new: newKey,
      pointers: new MultiSigner([newKey, oldKey]),
      packages: newKey,
      resign: true,
      finished: state.phase === 'switch',
      state: { ...state, phase: 'switch', since: state.phase === 'switch' ? state.since : since },
    };
  }
  if (state.phase === 'add')
    throw new UsageError(
      'keys rotate retire: packages are still signed by the old key; run `keys rotate switch` first',
    );
  return {
    phase,
    old: { fingerprint: state.old.fingerprint, signingKeyFingerprint: state.old.signingKey },
    new: newKey,
    pointers: newKey,
    packages: newKey,
    resign: false,
    state: { ...state, phase: 'retired', since: state.phase === 'retired' ? state.since : since },
  };
}

/** The per-key files, the alias (both keys until retire), the revocation, and the state. */
async function keyOutputs(
  ctx: AttemptContext,
  keys: RotationKeys,
  revocation: string | undefined,
): Promise<OutputFile[]> {
  const { cfg } = ctx;
  const outputs = keyFilesOf(cfg, keys.pointers);
  if (revocation !== undefined) {
    const oldFile = keyNames(cfg, keys.old.fingerprint).perKey;
    const published = await ctx.store.get(oldFile);
    if (!published)
      throw new StorageError(`${oldFile}, the old key's file, is not in ${ctx.store.description}`);
    let revoked: string;
    try {
      const key = await readKey({ armoredKey: new TextDecoder().decode(published) });
      const merged = await revokeKey({ key, revocationCertificate: revocation, format: 'armored' });
      // Revoked by an earlier run: kept as it is (merging again would add the signature twice).
      revoked = key.revocationSignatures.length > 0 ? text(published) : merged.publicKey;
    } catch {
      throw new SigningError(`the revocation certificate given does not revoke key ${keys.old.fingerprint}`);
    }
    // The old key's own file becomes the revoked certificate: whoever fetches it again learns it.
    outputs.push(
      { ...bytesFile(oldFile, 'blob', revoked), immutable: false },
      // .rev, as gpg names revocation certificates: it is not a key, and readers of keys/*.asc expect keys.
      bytesFile(oldFile.replace(/\.asc$/, '.rev'), 'blob', revocation),
    );
  }
  // Read through the attempt's store, so on an optimistic target the write is conditional on it.
  const before = await ctx.store.get(KEYS_STATE_KEY);
  const now = renderKeysState(keys.state);
  const prior = before ? new TextDecoder().decode(before) : undefined;
  // A phase run again keeps the time it was first entered: a finished phase writes nothing.
  outputs.push(bytesFile(KEYS_STATE_KEY, 'index', prior && samePhase(prior, keys.state) ? prior : now));
  return outputs;
}

function samePhase(prior: string, state: KeysState): boolean {
  try {
    const p = JSON.parse(prior) as KeysState;
    return (
      p.phase === state.phase &&
      p.old?.fingerprint === state.old.fingerprint &&
      p.new?.fingerprint === state.new.fingerprint
    );
  } catch {
    return false;
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Whether an armored signature (or InRelease) is signed by exactly `signer`'s keys, in order. */
async function signedAs(bytes: Uint8Array | undefined, signer: Signer): Promise<boolean> {
  if (!bytes) return false;
  return sameIssuers(
    await signatureIssuers(text(bytes)),
    signersOf(signer).map((s) => s.signingKeyFingerprint),
  );
}

interface ChannelBuild {
  outputs: OutputFile[];
  resigned: string[];
  history?: HistoryIntent;
  cleanup(): Promise<void>;
}

/** One channel: its pointers signed as the phase wants, and on switch its packages too. */
async function channelOutputs(ctx: AttemptContext, keys: RotationKeys): Promise<ChannelBuild> {
  const { cfg, store } = ctx;
  const outputs: OutputFile[] = [];
  const temps: string[] = [];
  const cleanup = async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  };
  let history: HistoryIntent | undefined;
  try {
    // apt: the Release text stays; its signatures are made again.
    const dists = distsPrefix(cfg);
    const inRelease = await store.get(`${dists}/InRelease`);
    if (inRelease) {
      const releaseBytes = await store.get(`${dists}/Release`);
      const release = releaseBytes ? text(releaseBytes) : clearsignedBody(text(inRelease));
      if (keys.resign) {
        const state = await readAptStateAt(store, cfg, release);
        const files = new Set<string>();
        for (const entries of state.indexes.values()) for (const e of entries) files.add(e.filename);
        ctx.step(`apt ${cfg.channel}: checking the signatures of ${files.size} package(s)`);
        outputs.push(
          ...(await resignedAscs(
            store,
            [...files].map((f) => `${cfg.prefixes.deb}/${f}`),
            keys.packages,
          )),
        );
      }
      const pointersOk =
        (await signedAs(inRelease, keys.pointers)) &&
        (await signedAs(await store.get(`${dists}/Release.gpg`), keys.pointers));
      // Release stays; its signatures go after yum's pair (orders 0 and 1), so that nothing is
      // written between repomd.xml.asc and repomd.xml, where dnf cannot check the repository.
      if (!pointersOk)
        outputs.push(
          ...(await signedReleaseFiles(dists, release, keys.pointers))
            .filter((f) => !f.key.endsWith('/Release'))
            .map((f) => ({ ...f, order: (f.order ?? 0) + 2 })),
        );
    }

    // yum: on switch the rpms are signed again, which changes their checksums, so the repodata too.
    const repodata = repodataPrefix(cfg);
    const repomd = await store.get(`${repodata}/repomd.xml`);
    if (repomd) {
      let repomdText = text(repomd);
      let rebuilt = false;
      if (keys.resign) {
        const temp = await mkdtemp(join(tmpdir(), 'pkgpub-rotate-'));
        temps.push(temp);
        const yum = await switchedYum(ctx, keys, keys.packages, temp);
        outputs.push(...yum.outputs);
        if (yum.rebuilt) {
          history = yum.rebuilt.history;
          repomdText = yum.rebuilt.repomd;
          rebuilt = true;
        }
      }
      if (rebuilt || !(await signedAs(await store.get(`${repodata}/repomd.xml.asc`), keys.packages)))
        outputs.push(...(await repomdPointerFiles(repodata, repomdText, keys.packages)));
      const repoFile = await store.get(`${cfg.prefixes.rpm}/${cfg.yum.name}.repo`);
      outputs.push(
        await yumRepoFile(cfg, {
          signed: true,
          // As the channel's packages are: a rotation never starts signing rpms published unsigned.
          rpmsSigned: repoFile ? /^gpgcheck=1$/m.test(text(repoFile)) : true,
          keyUrls: gpgkeyUrls(cfg, keys.pointers),
        }),
      );
    }

    // tarballs: each arch folder's SHA256SUMS.asc, and on switch each tarball's .asc.
    const sums: string[] = [];
    for await (const o of store.list(`${cfg.prefixes.bin}/`))
      if (
        o.key.endsWith(`/${SUMS_FILE}`) &&
        o.key.split('/').length === cfg.prefixes.bin.split('/').length + 2
      )
        sums.push(o.key);
    for (const key of sums.sort()) {
      const bytes = await store.get(key);
      if (!bytes) continue;
      if (keys.resign) {
        const folder = binFolder(cfg, key.split('/').at(-2)!);
        const names = [...parseSha256Sums(text(bytes)).keys()];
        outputs.push(
          ...(await resignedAscs(
            store,
            names.map((n) => `${folder}/${n}`),
            keys.packages,
          )),
        );
      }
      if (!(await signedAs(await store.get(`${key}.asc`), keys.packages)))
        outputs.push(...(await binSumsSignatures([bytesFile(key, 'index', bytes)], keys.packages)));
    }

    // driver indexes (shared by the channels: the stable run does them): each json's .asc.
    if (keys.resign && cfg.channel === 'stable') {
      const site = `${driverSitePrefix(cfg)}/`;
      const jsons: string[] = [];
      for await (const o of store.list(site))
        if (o.key.endsWith('.json') && !o.key.slice(site.length).includes('/')) jsons.push(o.key);
      const signed = await resignedAscs(store, jsons.sort(), keys.packages, { onlySigned: true });
      // index.json's signature is a pointer, as a publish writes it (its json is not rewritten).
      outputs.push(
        ...signed.map((o) =>
          o.key === `${versionListKey(cfg)}.asc` ? { ...o, tier: 'pointer' as const } : o,
        ),
      );
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  const resigned = outputs
    .filter((o) => /\.(asc|gpg|rpm)$|\/InRelease$/.test(o.key) && !o.key.startsWith(`${cfg.prefixes.keys}/`))
    .map((o) => o.key);
  return { outputs, resigned, ...(history ? { history } : {}), cleanup };
}

/**
 * `.asc` files of `blobs` that `signer` alone did not sign, signed again by it: from a digest of
 * the blob streamed out of the store (one pass, never whole in memory), as a publish signs them.
 */
async function resignedAscs(
  store: ObjectStore,
  blobs: string[],
  signer: Signer,
  opts: { onlySigned?: boolean } = {},
): Promise<OutputFile[]> {
  const stale = (
    await mapLimit(blobs, 16, async (k) => {
      const asc = await store.get(`${k}.asc`);
      // A driver index published unsigned stays so (a signature is added by a signed publish).
      if (!asc && opts.onlySigned) return undefined;
      return (await signedAs(asc, signer)) ? undefined : k;
    })
  ).filter((k): k is string => k !== undefined);
  if (stale.length === 0) return [];
  const template = signer.prehashTemplate();
  const armored = template
    ? await signer.signPrehashedMany(
        template,
        await mapLimit(stale, 4, async (k) => prehashDigest(await hashOf(store, k), template)),
      )
    : await mapLimit(stale, 4, async (k) => {
        const bytes = await store.get(k);
        if (!bytes) throw new StorageError(`${k} is named by an index but missing in ${store.description}`);
        return signer.detachSignArmored(bytes);
      });
  return stale.map((k, i) => bytesFile(`${k}.asc`, 'blob', armored[i]!));
}

async function hashOf(store: ObjectStore, key: string) {
  const stream = await store.getStream(key);
  if (!stream) throw new StorageError(`${key} is named by an index but missing in ${store.description}`);
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h;
}

/**
 * The yum repository with every rpm the old key signed signed again by the new one (header
 * signature only: main header and payload are copied as they are), their `.asc`, and repodata
 * naming the new checksums; undefined when nothing changes. Rpms published unsigned or signed by
 * another key are left as they are. An rpm found already signed by the new key under a repodata
 * that still names its old bytes is what an interrupted switch wrote: it is taken as it is.
 */
async function switchedYum(
  ctx: AttemptContext,
  keys: RotationKeys,
  signer: Signer,
  temp: string,
): Promise<{ outputs: OutputFile[]; rebuilt?: { repomd: string; history: HistoryIntent } }> {
  const { cfg, store } = ctx;
  const prefix = cfg.prefixes.rpm;
  const state = await readYumState(store, cfg);
  const template = signer.prehashTemplate();
  const newId = signerKeyId(signer);
  const oldId = keys.old.signingKeyFingerprint.slice(-16).toLowerCase();
  ctx.step(`yum ${cfg.channel}: checking the signatures of ${state.entries.length} rpm(s)`);
  type Seen =
    | { kind: 'keep'; entry: YumEntry; ascDigest?: string; sha256: string }
    | { kind: 'resign' | 'taken'; entry: YumEntry; rpm: Awaited<ReturnType<typeof readRpm>> };
  const seen: Seen[] = await mapLimit(state.entries, 4, async (entry) => {
    const key = `${prefix}/${entry.href}`;
    if (keys.finished && (await storedRpmSigner(store, key)) === newId)
      return { kind: 'keep', entry, sha256: entry.pkgid };
    const dir = join(temp, entry.pkgid.slice(0, 16));
    await mkdir(dir, { recursive: true });
    const local = join(dir, basename(entry.href));
    const stream = await store.getStream(key);
    if (!stream) throw new StorageError(`${key}, named by the repodata, is missing in ${store.description}`);
    await pipeline(stream, createWriteStream(local));
    const rpm = await readRpm(local, template);
    const sig = rpm.signature;
    if (rpm.sha256 !== entry.pkgid) {
      const same = entry.header === undefined || entry.header === rpm.headerSha256;
      if (same && sig.signed && sig.keyId === newId) return { kind: 'taken', entry, rpm };
      throw new StorageError(
        `${key} in ${store.description} is not the file its repodata names (sha256 ${rpm.sha256.slice(0, 12)}…, repodata ${entry.pkgid.slice(0, 12)}…); republish it with --force first`,
      );
    }
    if (sig.signed && sig.keyId === oldId) return { kind: 'resign', entry, rpm };
    // Left as it is: its copy here is not needed any more (the temp folder holds only what is re-signed).
    await rm(local, { force: true });
    return {
      kind: 'keep',
      entry,
      sha256: rpm.sha256,
      ...(rpm.signatureDigest ? { ascDigest: rpm.signatureDigest } : {}),
    };
  });
  const keep = seen.flatMap((s) => (s.kind === 'keep' ? [s.entry] : []));
  // Kept rpms whose .asc the new key did not make.
  const kept = seen.filter((s) => s.kind === 'keep');
  const ascs = await resignedAscsFrom(store, kept, prefix, signer);
  type Read = Extract<Seen, { kind: 'resign' | 'taken' }>;
  const resign = seen.filter((s): s is Read => s.kind === 'resign');
  const taken = seen.filter((s): s is Read => s.kind === 'taken');
  if (resign.length === 0 && taken.length === 0) return { outputs: ascs };
  ctx.step(`yum ${cfg.channel}: signing ${resign.length} rpm(s) with ${signer.fingerprint}`);
  const signed = await prepareSignedRpms(
    resign.map((s) => ({ rpm: s.rpm, headerSha256: s.rpm.headerSha256 })),
    { signer, tempDir: temp, resign: true, ...(template ? { prehash: template } : {}) },
  );
  // The published href, which for a tree another tool laid out may hold folders.
  const at = (p: PreparedRpm, href: string): PreparedRpm => ({ ...p, rpm: { ...p.rpm, fileName: href } });
  const prepared = [
    ...signed.map((p, i) => at(p, resign[i]!.entry.href)),
    ...taken.map((s) => at(preparedAsIs(s.rpm, s.rpm.headerSha256), s.entry.href)),
  ];
  const digests = new SignatureDigests(template);
  for (const p of prepared) digests.add(p.sha256, p.signatureDigest);
  const yum = await buildYum({
    cfg,
    state,
    selection: { changes: { added: [], removed: [], unchanged: [] }, add: [], keep, garbage: [] },
    prepared,
    now: ctx.now,
    rebuild: true,
  });
  const outputs = [
    ...yum.blobs,
    ...(await blobSignatures(yum.blobs, signer, digests)),
    ...ascs,
    ...yum.files,
  ];
  const read = state.repomdBytes ? text(state.repomdBytes) : '';
  return {
    outputs,
    rebuilt: {
      repomd: yum.repomd!,
      // A new generation of the channel: rollback can go back across the switch, and the old
      // repodata is held while a kept generation names it.
      history: {
        read: { yum: read },
        written: { yum: yum.repomd! },
        dropped: { yum: yum.garbage },
        summary: { yum: { added: [], removed: [] } },
      },
    },
  };
}

/**
 * The key id of a stored rpm's header signature, from its lead and signature header only (the
 * first few KiB of the object; the rest of the stream is dropped).
 */
async function storedRpmSigner(store: ObjectStore, key: string): Promise<string | undefined> {
  const stream = await store.getStream(key);
  if (!stream) throw new StorageError(`${key}, named by the repodata, is missing in ${store.description}`);
  const chunks: Buffer[] = [];
  let have = 0;
  let need = LEAD_SIZE + HEADER_PREAMBLE_SIZE;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      have += (chunk as Buffer).length;
      if (have < need) continue;
      const buf = Buffer.concat(chunks);
      need = LEAD_SIZE + readHeaderPreamble(buf, LEAD_SIZE).byteLength;
      if (have >= need) return rpmSignature(parseHeader(buf, LEAD_SIZE)).keyId;
    }
  } catch (err) {
    if (err instanceof RpmFormatError)
      throw new StorageError(`${key} in ${store.description}: ${err.message}`);
    throw err;
  } finally {
    stream.destroy();
  }
  throw new StorageError(`${key} in ${store.description} ends inside its signature header`);
}

/** `.asc` of kept rpms, from the digest their read computed, where the new key did not make it. */
async function resignedAscsFrom(
  store: ObjectStore,
  kept: { entry: YumEntry; ascDigest?: string }[],
  prefix: string,
  signer: Signer,
): Promise<OutputFile[]> {
  const template = signer.prehashTemplate();
  const stale = (
    await mapLimit(kept, 16, async (k) =>
      (await signedAs(await store.get(`${prefix}/${k.entry.href}.asc`), signer)) ? undefined : k,
    )
  ).filter((k): k is (typeof kept)[number] => k !== undefined);
  if (stale.length === 0) return [];
  if (template && stale.every((k) => k.ascDigest)) {
    const armored = await signer.signPrehashedMany(
      template,
      stale.map((k) => k.ascDigest!),
    );
    return stale.map((k, i) => bytesFile(`${prefix}/${k.entry.href}.asc`, 'blob', armored[i]!));
  }
  return resignedAscs(
    store,
    stale.map((k) => `${prefix}/${k.entry.href}`),
    signer,
  );
}
