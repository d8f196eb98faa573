import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { armor, enums, PacketList, readPrivateKey, revokeKey } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRpmHeaders } from '../../src/artifacts/read-rpm.js';
import { signatureIssuers } from '../../src/signing/issuers.js';
import { aptProblems, aptVersions, makeAptRoot } from '../support/apt.js';
import { pkgpub } from '../support/cli.js';
import { makeDnfRoot, rpmCheckSig } from '../support/dnf.js';
import { type GpgHome, gpgv, keyringFor, makeGpgHome, runTool, sqv } from '../support/gpg.js';
import { makeTestKey, type TestKey } from '../support/keys.js';
import { samplesDir, scratchRoot } from '../support/paths.js';
import { buildRpms } from '../support/rpmbuild.js';

// A key rotation judged by the clients users run, at each phase: apt (a keyring of the old key, of
// the new key, of the bundle), dnf (gpgkey= old, new, both; gpgcheck and repo_gpgcheck on),
// rpmkeys -K, gpgv on every .asc and on InRelease, sqv on InRelease. The verdicts are printed as the
// table the README carries.

type Phase = 'before' | 'add' | 'switch' | 'retire';
type Trust = 'old' | 'new' | 'both';
const PHASES: Phase[] = ['before', 'add', 'switch', 'retire'];
const TRUSTS: Trust[] = ['old', 'new', 'both'];

let work: string;
let oldKey: TestKey;
let newKey: TestKey;
let home: GpgHome;
/** The tree as it stood after each phase (copies: every phase is judged on its own). */
const trees = {} as Record<Phase, string>;
/** Everything any command printed, to look for key material in. */
const said: string[] = [];
/** client -> phase -> trust -> verdict, for the README's table. */
const matrix = new Map<string, Map<Phase, Map<string, string>>>();
let bundle: string;
let revocation: string;
let extraRpms: string[];

const env = () => ({
  PKGPUB_SIGNING_KEY: undefined,
  PKGPUB_NEW_SIGNING_KEY: newKey.privateArmored,
});

async function run(args: string[], e: Record<string, string | undefined> = env()) {
  const res = await pkgpub(args, e);
  said.push(res.out, res.err);
  return res;
}

const rotate = (phase: string, live: string, ...more: string[]) =>
  run([
    'keys',
    'rotate',
    phase,
    '--to',
    live,
    '--signing-key',
    oldKey.secretFile,
    '--gc-grace',
    '0',
    ...more,
  ]);

/** A revocation certificate of `key`, as gpg --gen-revoke writes one: the revocation signature alone. */
async function revocationOf(key: TestKey): Promise<string> {
  const priv = await readPrivateKey({ armoredKey: key.privateArmored });
  const revoked = await revokeKey({
    key: priv,
    reasonForRevocation: { flag: enums.reasonForRevocation.keySuperseded, string: 'rotated' },
    format: 'object',
  });
  const list = new PacketList();
  list.push(revoked.publicKey.revocationSignatures[0]!);
  return armor(enums.armor.publicKey, list.write(), undefined, undefined, 'This is a revocation certificate');
}

function record(client: string, phase: Phase, trust: Trust | 'alias', verdict: string): void {
  const byPhase = matrix.get(client) ?? new Map<Phase, Map<string, string>>();
  const byTrust = byPhase.get(phase) ?? new Map<string, string>();
  byTrust.set(trust, verdict);
  byPhase.set(phase, byTrust);
  matrix.set(client, byPhase);
}

/** Files a client is given for "trusting" each key set. */
const keyFiles = (t: Trust): string[] =>
  t === 'old'
    ? [oldKey.publicFile]
    : t === 'new'
      ? [newKey.publicFile]
      : [oldKey.publicFile, newKey.publicFile];

const files = async (dir: string, base = ''): Promise<string[]> => {
  const out: string[] = [];
  for (const e of await readdir(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await files(dir, rel)));
    else out.push(rel);
  }
  return out;
};

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  work = await mkdtemp(join(scratchRoot, 'keys-rotate-'));
  [oldKey, newKey] = await Promise.all([makeTestKey(), makeTestKey()]);
  home = makeGpgHome();
  const live = join(work, 'live');
  // The samples but one deb, published with the old key; the deb comes in the add phase.
  const first = join(work, 'first');
  await mkdir(first);
  for (const n of await readdir(samplesDir))
    if (n !== 'falco-rules_3.2.0_all.deb') await cp(join(samplesDir, n), join(first, n), { recursive: true });
  const built = await buildRpms(join(work, 'rpms'), [
    // Installable without dependencies, for dnf install at every phase.
    { name: 'leaf', version: '1.0', arch: 'noarch' },
    { name: 'during-add', version: '1.0', arch: 'noarch' },
    { name: 'during-switch', version: '1.0', arch: 'noarch' },
  ]);
  extraRpms = built.filter((f) => !f.includes('leaf'));
  await copyFile(built.find((f) => f.includes('leaf'))!, join(first, 'leaf-1.0-1.noarch.rpm'));
  const published = await run(['publish', first, '--to', live, '--signing-key', oldKey.secretFile], {
    PKGPUB_SIGNING_KEY: undefined,
    PKGPUB_NEW_SIGNING_KEY: undefined,
  });
  expect(published.code, published.err).toBe(0);
  const snap = async (p: Phase) => {
    trees[p] = join(work, p);
    await cp(live, trees[p], { recursive: true });
  };
  await snap('before');

  const added = await rotate('add', live);
  expect(added.code, added.err).toBe(0);
  bundle = join(work, 'bundle.asc');
  await copyFile(join(live, 'keys/falco-packages.asc'), bundle);
  // A publish while the rotation is in phase add: both keys sign its Release, the old its packages.
  const duringAdd = await run([
    'publish',
    join(samplesDir, 'falco-rules_3.2.0_all.deb'),
    extraRpms.find((f) => f.includes('during-add'))!,
    '--to',
    live,
    '--signing-key',
    oldKey.secretFile,
  ]);
  expect(duringAdd.code, duringAdd.err).toBe(0);
  await snap('add');

  const switched = await rotate('switch', live);
  expect(switched.code, switched.err).toBe(0);
  const duringSwitch = await run([
    'publish',
    extraRpms.find((f) => f.includes('during-switch'))!,
    '--to',
    live,
    '--signing-key',
    oldKey.secretFile,
  ]);
  expect(duringSwitch.code, duringSwitch.err).toBe(0);
  await snap('switch');

  revocation = await revocationOf(oldKey);
  const revFile = join(work, 'old.rev');
  await writeFile(revFile, revocation);
  const retired = await rotate('retire', live, '--revocation', revFile);
  expect(retired.code, retired.err).toBe(0);
  await snap('retire');
}, 180_000);

afterAll(async () => {
  home?.cleanup();
  if (matrix.size > 0) {
    const lines = [
      '| client | key(s) trusted | before | after add | after switch | after retire |',
      '|---|---|---|---|---|---|',
    ];
    for (const [client, byPhase] of matrix)
      for (const t of [...TRUSTS, 'alias'].filter((x) => [...byPhase.values()].some((m) => m.has(x))))
        lines.push(`| ${client} | ${t} | ${PHASES.map((p) => byPhase.get(p)?.get(t) ?? '').join(' | ')} |`);
    console.log(lines.join('\n'));
  }
  if (work) await rm(work, { recursive: true, force: true });
  for (const k of [oldKey, newKey]) if (k) await rm(k.dir, { recursive: true, force: true });
});

describe('the tree after each phase', () => {
  it('holds the keys, the state and the signatures each phase promises, and no secret', async () => {
    const inRelease = (p: Phase) => readFile(join(trees[p], 'packages/deb/dists/stable/InRelease'), 'utf8');
    const fpr = (k: TestKey) => k.fingerprint.toLowerCase();
    expect(await signatureIssuers(await inRelease('before'))).toEqual([fpr(oldKey)]);
    // The publish during add kept both: the old key first, as it signs the packages then.
    expect(await signatureIssuers(await inRelease('add'))).toEqual([fpr(oldKey), fpr(newKey)]);
    expect(await signatureIssuers(await inRelease('switch'))).toEqual([fpr(newKey), fpr(oldKey)]);
    expect(await signatureIssuers(await inRelease('retire'))).toEqual([fpr(newKey)]);
    for (const p of PHASES) {
      const state = await readFile(join(trees[p], '.pkgpub-keys.json'), 'utf8').catch(() => '');
      expect(state === '' ? 'none' : JSON.parse(state).phase, p).toBe(
        { before: 'none', add: 'add', switch: 'switch', retire: 'retired' }[p],
      );
      const repo = await readFile(join(trees[p], 'packages/rpm/falco.repo'), 'utf8');
      const gpgkeys = /^gpgkey=(.*)$/m.exec(repo)![1]!.split(' ');
      expect(gpgkeys, p).toHaveLength(p === 'add' || p === 'switch' ? 2 : 1);
    }
    // The alias: the old key, then the bundle of both, then the new key alone.
    const aliasKeys = (p: Phase) =>
      runTool('gpg', [
        '--homedir',
        home.dir,
        '--batch',
        '--with-colons',
        '--show-keys',
        join(trees[p], 'keys/falco-packages.asc'),
      ])
        .stdout.split('\n')
        .filter((l) => l.startsWith('fpr:'))
        .map((l) => l.split(':')[9]);
    expect(aliasKeys('before')).toEqual([oldKey.fingerprint]);
    expect(aliasKeys('add').sort()).toEqual([oldKey.fingerprint, newKey.fingerprint].sort());
    expect(aliasKeys('retire')).toEqual([newKey.fingerprint]);
    // The old key's own file carries its revocation after retire, and the certificate sits beside it.
    const oldFile = join(trees.retire, `keys/falco-${oldKey.fingerprint.slice(-8).toLowerCase()}.asc`);
    const shown = runTool('gpg', [
      '--homedir',
      home.dir,
      '--batch',
      '--with-colons',
      '--show-keys',
      oldFile,
    ]).stdout;
    expect(shown).toMatch(/^pub:r:/m);
    expect(await readFile(oldFile.replace(/\.asc$/, '.rev'), 'utf8')).toBe(revocation);
    // No secret in what the commands said or in any tree.
    const secretLines = [oldKey, newKey].flatMap((k) =>
      k.privateArmored.split('\n').filter((l) => l.length > 40),
    );
    const everything = said.join('\n');
    expect(everything).not.toContain('PRIVATE KEY');
    for (const l of secretLines) expect(everything).not.toContain(l);
    for (const p of PHASES)
      for (const f of await files(trees[p])) {
        const text = await readFile(join(trees[p], f), 'latin1');
        expect(text.includes('PRIVATE KEY'), `${p}/${f}`).toBe(false);
      }
  });

  it('a publish while a rotation is under way needs the new key, says so, and changes nothing', async () => {
    const copy = join(work, 'no-new-key');
    await cp(trees.add, copy, { recursive: true });
    const before = await files(copy);
    const res = await run(['publish', extraRpms[1]!, '--to', copy, '--signing-key', oldKey.secretFile], {
      PKGPUB_SIGNING_KEY: undefined,
      PKGPUB_NEW_SIGNING_KEY: undefined,
    });
    expect(res.code).toBe(1);
    expect(res.err).toMatch(
      /key rotation is in phase "add".*missing the new key [0-9A-F]{40} \(PKGPUB_NEW_SIGNING_KEY/,
    );
    expect(await files(copy)).toEqual(before);
    // After retire, the old key alone is refused by name.
    const retired = join(work, 'old-after-retire');
    await cp(trees.retire, retired, { recursive: true });
    const old = await run(['publish', extraRpms[1]!, '--to', retired, '--signing-key', oldKey.secretFile], {
      PKGPUB_SIGNING_KEY: undefined,
      PKGPUB_NEW_SIGNING_KEY: undefined,
    });
    expect(old.code).toBe(1);
    expect(old.err).toMatch(/was retired/);
  });

  it('refuses phases out of order, and a current key the tree does not publish', async () => {
    const copy = join(work, 'out-of-order');
    await cp(trees.add, copy, { recursive: true });
    const before = await files(copy);
    const retire = await rotate('retire', copy);
    expect(retire.code).toBe(2);
    expect(retire.err).toMatch(/still signed by the old key; run `keys rotate switch` first/);
    const other = await makeTestKey();
    const wrongTree = join(work, 'wrong-current');
    await cp(trees.before, wrongTree, { recursive: true });
    const wrong = await run(['keys', 'rotate', 'add', '--to', wrongTree, '--signing-key', other.secretFile]);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/is not the one this tree publishes/);
    await rm(other.dir, { recursive: true, force: true });
    const switched = join(work, 'add-after-switch');
    await cp(trees.switch, switched, { recursive: true });
    const again = await rotate('add', switched);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/is in phase "switch"; run `keys rotate retire` next/);
    expect(await files(copy)).toEqual(before);
  });

  it('pkgpub verify finds each phase clean, with the published keys and with the new key pinned', async () => {
    for (const p of PHASES) {
      const res = await run(['verify', trees[p], '--deep', '--json']);
      expect(res.code, `${p}:\n${res.out}\n${res.err}`).toBe(0);
      if (p === 'switch' || p === 'retire') {
        const pinned = await run(['verify', trees[p], '--key', newKey.publicFile, '--json']);
        expect(pinned.code, `${p} pinned:\n${pinned.out}\n${pinned.err}`).toBe(0);
      }
    }
  });

  it('every phase run again writes nothing', async () => {
    for (const [phase, p] of [
      ['add', 'add'],
      ['switch', 'switch'],
      ['retire', 'retire'],
    ] as const) {
      const copy = join(work, `again-${p}`);
      await cp(trees[p], copy, { recursive: true });
      const res = await rotate(
        phase,
        copy,
        '--json',
        ...(phase === 'retire' ? ['--revocation', join(work, 'old.rev')] : []),
      );
      expect(res.code, res.err).toBe(0);
      // A publish made within the phase left nothing for the phase to do either.
      expect(JSON.parse(res.out).plan.puts, phase).toEqual([]);
    }
  });
});

describe.each(PHASES)('clients after phase %s', (phase) => {
  // apt and sqv on InRelease accept any good signature from a key they trust.
  const any = {
    before: { old: 'ok', new: 'FAIL', both: 'ok' },
    add: { old: 'ok', new: 'ok', both: 'ok' },
    switch: { old: 'ok', new: 'ok', both: 'ok' },
    retire: { old: 'FAIL', new: 'ok', both: 'ok' },
  }[phase];
  // rpm, dnf and gpgv on a .asc want the package key, which the switch changes.
  const pkg = {
    before: { old: 'ok', new: 'FAIL', both: 'ok' },
    add: { old: 'ok', new: 'FAIL', both: 'ok' },
    switch: { old: 'FAIL', new: 'ok', both: 'ok' },
    retire: { old: 'FAIL', new: 'ok', both: 'ok' },
  }[phase];

  it('apt-get update with a keyring of the old key, the new key, the bundle', async () => {
    const tree = trees[phase];
    for (const t of TRUSTS) {
      const ring = t === 'both' ? bundle : keyFiles(t)[0]!;
      const apt = await makeAptRoot(`deb [signed-by=${ring}] file:${tree}/packages/deb stable main`);
      const up = await apt.apt('apt-get', ['update']);
      const problems = aptProblems(up.out);
      const versions = up.code === 0 ? await aptVersions(apt, 'falco') : [];
      const verdict = up.code === 0 && problems.length === 0 && versions.includes('0.39.0') ? 'ok' : 'FAIL';
      record('apt-get update', phase, t, verdict);
      expect(verdict, `${t}:\n${up.out}`).toBe(any[t]);
    }
  });

  it('sqv and gpgv on InRelease', async () => {
    const inRelease = await readFile(join(trees[phase], 'packages/deb/dists/stable/InRelease'), 'utf8');
    // sqv reads detached signatures: the clearsigned text apart from its signature block.
    const [, rest] = inRelease.split(/\n\n(.*)/s);
    const at = rest!.indexOf('\n-----BEGIN PGP SIGNATURE-----');
    const body = home.file(`body-${phase}`, rest!.slice(0, at).replace(/^- /gm, ''));
    const sig = home.file(`sig-${phase}`, rest!.slice(at + 1));
    const signed = home.file(`InRelease-${phase}`, inRelease);
    for (const t of TRUSTS) {
      const ring = keyringFor(
        home,
        await readFile(t === 'both' ? bundle : keyFiles(t)[0]!, 'utf8'),
        `ring-${t}.gpg`,
      );
      const s = sqv(ring, sig, body);
      record('sqv InRelease', phase, t, s.status === 0 ? 'ok' : 'FAIL');
      expect(s.status === 0 ? 'ok' : 'FAIL', `${t}: ${s.stderr}`).toBe(any[t]);
      const g = gpgv(home, ring, signed);
      const good = (g.stderr.match(/Good signature/g) ?? []).length;
      // gpgv exits 2 when it lacks the key of one signature, even beside a good one (apt reads its status lines instead).
      const verdict = good > 0 ? (g.status === 0 ? 'ok' : `good, exit ${g.status}`) : 'FAIL';
      record('gpgv InRelease', phase, t, verdict);
      expect(good > 0 ? 'ok' : 'FAIL', `${t}: ${g.stderr}`).toBe(any[t]);
    }
  });

  it('gpgv on every .asc (packages, SHA256SUMS, repomd.xml)', async () => {
    const tree = trees[phase];
    const all = await files(tree);
    const ascs = all.filter((f) => f.endsWith('.asc') && all.includes(f.slice(0, -4)));
    expect(ascs.filter((f) => f.endsWith('SHA256SUMS.asc') || f.endsWith('repomd.xml.asc'))).toHaveLength(2);
    // The driver indexes' too (driver/site/*.json.asc).
    expect(ascs.some((f) => f.startsWith('driver/site/'))).toBe(true);
    for (const t of TRUSTS) {
      const rings = await Promise.all(
        keyFiles(t).map(async (f, i) => keyringFor(home, await readFile(f, 'utf8'), `asc-${t}-${i}.gpg`)),
      );
      const bad: string[] = [];
      for (const f of ascs) {
        const r = runTool('gpgv', [
          '--homedir',
          home.dir,
          ...rings.flatMap((k) => ['--keyring', k]),
          join(tree, f),
          join(tree, f.slice(0, -4)),
        ]);
        if (r.status !== 0) bad.push(f);
      }
      const verdict =
        bad.length === 0 ? 'ok' : bad.length === ascs.length ? 'FAIL' : `FAIL (${bad.length}/${ascs.length})`;
      record('gpgv *.asc (packages, SHA256SUMS, repomd.xml)', phase, t, verdict);
      expect(verdict, `${t}: ${bad.join(', ')}`).toBe(pkg[t]);
    }
  });

  it('rpmkeys -K with each key imported', async () => {
    const tree = trees[phase];
    const rpms = (await files(tree)).filter((f) => f.endsWith('.rpm'));
    for (const t of TRUSTS) {
      const db = join(work, `rpmdb-${phase}-${t}`);
      let ok = 0;
      const outs: string[] = [];
      for (const f of rpms) {
        let res = { code: 1, out: '' };
        for (const k of keyFiles(t)) res = await rpmCheckSig(db, k, join(tree, f));
        outs.push(res.out);
        if (res.code === 0 && /Signature, key ID [0-9a-f]+: OK/.test(res.out)) ok++;
      }
      const verdict =
        ok === rpms.length ? 'ok' : ok === 0 ? 'FAIL' : `FAIL (${rpms.length - ok}/${rpms.length})`;
      record('rpmkeys -K (every rpm)', phase, t, verdict);
      expect(verdict, `${t}:\n${outs.join('\n')}`).toBe(pkg[t]);
    }
    // The payload and main header never change: every rpm keeps the header its input had.
    for (const f of rpms) {
      const r = await readRpmHeaders(join(tree, f));
      expect(r.signature.signed, f).toBe(true);
    }
  });

  it('dnf makecache and install, gpgkey= old, new, both (gpgcheck and repo_gpgcheck on)', async () => {
    const tree = trees[phase];
    for (const t of TRUSTS) {
      const dnf = await makeDnfRoot({
        repoFile: [
          '[rotated]',
          'name=rotated',
          `baseurl=file://${tree}/packages/rpm`,
          'gpgcheck=1',
          'repo_gpgcheck=1',
          `gpgkey=${keyFiles(t)
            .map((f) => `file://${f}`)
            .join(' ')}`,
          '',
        ].join('\n'),
      });
      const mc = await dnf.dnf(['makecache']);
      const installed = mc.code === 0 ? await dnf.dnf(['install', 'leaf']) : mc;
      const verdict =
        installed.code === 0
          ? 'ok'
          : mc.code !== 0
            ? 'FAIL (repomd.xml signature)'
            : 'FAIL (package signature)';
      record('dnf makecache + install', phase, t, verdict);
      expect(verdict.startsWith('FAIL') ? 'FAIL' : 'ok', `${t}:\n${mc.out}\n${installed.out}`).toBe(pkg[t]);
      if (verdict === 'ok') expect(installed.out).toMatch(/Installed:\s+leaf-1\.0-1\.noarch/);
    }
  });
});

describe('users who change nothing', () => {
  it('dnf keeps one root across the phases, with gpgkey= the alias URL (the .repo from before the rotation)', async () => {
    // One path that serves each phase's tree in turn, as the site does; -y accepts key imports.
    const current = join(work, 'current');
    const dnf = await makeDnfRoot({
      repoFile: [
        '[unchanged]',
        'name=unchanged',
        `baseurl=file://${current}/packages/rpm`,
        'gpgcheck=1',
        'repo_gpgcheck=1',
        `gpgkey=file://${current}/keys/falco-packages.asc`,
        '',
      ].join('\n'),
    });
    // Each phase installs a package its key signed: the old key's until the switch, then the new one's.
    const install = {
      before: ['install', 'leaf'],
      add: ['install', 'during-add'],
      switch: ['install', 'during-switch'],
      retire: ['reinstall', 'leaf'],
    };
    for (const p of PHASES) {
      await rm(current, { force: true });
      await symlink(trees[p], current);
      const mc = await dnf.dnf(['makecache']);
      const got = mc.code === 0 ? await dnf.dnf(install[p]) : mc;
      const verdict =
        mc.code !== 0 ? 'FAIL (repomd.xml signature)' : got.code === 0 ? 'ok' : 'FAIL (package signature)';
      record('dnf, one root kept, gpgkey=the alias URL, -y', p, 'alias', verdict);
      expect(verdict, `${p}:\n${mc.out}\n${got.out}`).toBe('ok');
      // At the switch dnf meets the new key's signatures and imports it from the alias, which holds both.
      if (p === 'switch') expect(mc.out + got.out).toMatch(/Importing GPG key/);
    }
  });
});
