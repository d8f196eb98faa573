import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { loadSigner } from '../../src/signing/load-key.js';
import { parseDetached, SignatureTemplates } from '../../src/verify/signature-templates.js';
import { checkDetached, readPublicKeys, type Trust } from '../../src/verify/trust.js';
import { hashFile, hashSigned } from '../../src/verify/hash-files.js';
import type { DigestKey } from '../../src/verify/signature-math.js';
import { scratchRoot } from '../support/paths.js';

/** A fresh key pair: its signer, and a trust of its public key alone. */
async function signerAndTrust(name: string, type: 'ed25519' | 'rsa4096' = 'ed25519') {
  const pair = await generateKeyPair({ name, email: `${name}@example.invalid`, type });
  const { signer } = await loadSigner({ keyArmored: pair.privateArmored });
  const trust: Trust = {
    keys: await readPublicKeys(new TextEncoder().encode(pair.publicArmored)),
    origin: 'test',
  };
  return { pair, signer, trust };
}

/**
 * verify --deep judges the first signature of a template with openpgp.js and the others from
 * their digest with node:crypto: both must give the same verdict on good and on damaged
 * signatures, for Ed25519 and RSA keys.
 */
describe.each([
  ['ed25519', 'ed25519'],
  ['rsa 4096', 'rsa4096'],
] as const)('%s', (_label, type) => {
  it('the digest check agrees with openpgp.js on good, swapped and damaged signatures', async () => {
    const { signer, trust } = await signerAndTrust('templates', type);
    const now = new Date();
    const data = [randomBytes(5000), randomBytes(70_000), randomBytes(1)];
    // One template for every signature, as a publish makes them.
    const template = signer.prehashTemplate();
    expect(template).toBeDefined();
    const sigs = await Promise.all(
      data.map(async (d) => {
        const h = createHash('sha256').update(d);
        const digest = h.copy().update(template!.trailer).digest('hex');
        return new TextEncoder().encode(await signer.signPrehashed(template!, digest));
      }),
    );
    const templates = new SignatureTemplates(trust);
    const parsed = await Promise.all(sigs.map((s) => parseDetached(s)));
    expect(new Set(parsed.map((p) => p!.template)).size).toBe(1);

    // The first is judged by openpgp.js and makes the template known.
    const first = await checkDetached(data[0]!, sigs[0]!, trust, now);
    expect(first.goodBy).toHaveLength(1);
    expect(templates.knows(parsed[0]!)).toBe(false);
    templates.remember(parsed[0]!, first);
    expect(templates.knows(parsed[1]!)).toBe(true);

    const digestOf = (d: Uint8Array, p: NonNullable<(typeof parsed)[0]>) =>
      createHash(p.hash).update(d).update(p.trailer).digest('hex');
    // Every good pair: the same verdict as openpgp.js.
    for (const [i, d] of data.entries()) {
      const fast = templates.check(parsed[i]!, digestOf(d, parsed[i]!));
      expect(fast).toEqual(await checkDetached(d, sigs[i]!, trust, now));
    }
    // A signature beside the wrong file (same template, other data): both say it does not verify.
    const swapped = templates.check(parsed[1]!, digestOf(data[2]!, parsed[1]!));
    expect(swapped.goodBy).toEqual([]);
    expect(swapped.problems.join()).toMatch(/does not verify/);
    expect((await checkDetached(data[2]!, sigs[1]!, trust, now)).goodBy).toEqual([]);
    // Damaged data of the right file: one flipped bit.
    const flipped = Buffer.from(data[1]!);
    flipped[100]! ^= 1;
    expect(templates.check(parsed[1]!, digestOf(flipped, parsed[1]!)).goodBy).toEqual([]);
    expect(templates.fastChecks).toBe(data.length + 2);

    // On a hashing worker: hashFile finishes the check from the digest it computes, with the
    // same verdicts (good files, the swapped signature, the flipped bit).
    const dir = await mkdtemp(join(scratchRoot, 'templates-'));
    try {
      const onDisk = async (name: string, d: Uint8Array) => {
        await writeFile(join(dir, name), d);
        return join(dir, name);
      };
      const hashed = async (path: string, i: number) => {
        const p = parsed[i]!;
        const check = templates.digestCheck(p);
        expect(check).toBeDefined();
        return hashFile(path, ['sha256'], { algorithm: p.hash, bytes: p.trailer, check: check! });
      };
      for (const [i, d] of data.entries()) {
        const got = await hashed(await onDisk(`good-${i}`, d), i);
        expect(got?.verified, `file ${i}`).toBe(true);
        expect(got?.signed).toBe(digestOf(d, parsed[i]!));
      }
      expect((await hashed(await onDisk('swapped', data[2]!), 1))?.verified).toBe(false);
      expect((await hashed(await onDisk('flipped', flipped), 1))?.verified).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

it('a hashing worker reads each .asc: absent, unparsable, an unknown template, then one taught', async () => {
  const { signer, trust } = await signerAndTrust('w');
  const dir = await mkdtemp(join(scratchRoot, 'signed-'));
  try {
    const data = [randomBytes(3000), randomBytes(4000)];
    const paths: string[] = [];
    // One template for both, as a publish signs them.
    const template = signer.prehashTemplate()!;
    for (const [i, d] of data.entries()) {
      paths.push(join(dir, `p${i}.deb`));
      await writeFile(paths[i]!, d);
      const digest = createHash('sha256').update(d).update(template.trailer).digest('hex');
      await writeFile(`${paths[i]}.asc`, await signer.signPrehashed(template, digest));
    }
    const taught = new Map<string, DigestKey>();
    const absent = await hashSigned(paths[0]!, ['sha256'], join(dir, 'none.asc'), taught);
    expect(absent?.signature).toEqual({ state: 'absent' });
    expect(absent?.digests.sha256).toBe(createHash('sha256').update(data[0]!).digest('hex'));
    await writeFile(join(dir, 'junk.asc'), 'not a signature');
    expect((await hashSigned(paths[0]!, ['sha256'], join(dir, 'junk.asc'), taught))?.signature).toEqual({
      state: 'unparsed',
    });
    expect(await hashSigned(join(dir, 'gone.deb'), ['sha256'], `${paths[0]}.asc`, taught)).toBeUndefined();

    // Not taught: the worker hands back the parsed signature and the digest it signs.
    const first = await hashSigned(paths[0]!, ['sha256'], `${paths[0]}.asc`, taught);
    const read = first?.signature;
    expect(read?.state).toBe('unknown');
    if (read?.state !== 'unknown') throw new Error('unreachable');
    const learnt: string[] = [];
    const templates = new SignatureTemplates(trust, (template, key) => {
      learnt.push(template);
      taught.set(template, key);
    });
    let fullChecks = 0;
    const full = async () => {
      fullChecks++;
      return checkDetached(data[0]!, new Uint8Array(await readFile(`${paths[0]}.asc`)), trust, new Date());
    };
    // Three asked at once: one full check, the other two wait for it and are checked from the digest.
    const verdicts = await Promise.all([0, 1, 2].map(() => templates.judge(read.sig, read.signed, full)));
    expect(fullChecks).toBe(1);
    for (const v of verdicts) expect(v.goodBy).toHaveLength(1);
    expect(learnt).toEqual([read.sig.template]);

    // Taught: the next file's signature is checked where it is hashed; the other file's .asc beside
    // it does not verify.
    const second = await hashSigned(paths[1]!, ['sha256'], `${paths[1]}.asc`, taught);
    expect(second?.signature).toEqual({ state: 'checked', template: learnt[0], verified: true });
    const swapped = await hashSigned(paths[1]!, ['sha256'], `${paths[0]}.asc`, taught);
    expect(swapped?.signature).toEqual({ state: 'checked', template: learnt[0], verified: false });
    expect(templates.verdictOf(learnt[0]!, false).problems.join()).toMatch(/does not verify/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('judge: a damaged first signature does not turn the digest path off for its template, and full checks never overlap', async () => {
  const { signer, trust } = await signerAndTrust('j');
  const template = signer.prehashTemplate()!;
  const data = [randomBytes(100), randomBytes(200), randomBytes(300), randomBytes(400)];
  const signed = data.map((d) => createHash('sha256').update(d).update(template.trailer).digest('hex'));
  const ascs = await Promise.all(
    signed.map(async (h) => new TextEncoder().encode(await signer.signPrehashed(template, h))),
  );
  const sigs = await Promise.all(ascs.map((a) => parseDetached(a)));
  const templates = new SignatureTemplates(trust);
  let running = 0;
  let most = 0;
  const fulls: number[] = [];
  // The first package's bytes are damaged: its full check fails, the next one's succeeds.
  const fullOf = (i: number) => async () => {
    fulls.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    const bytes = i === 0 ? randomBytes(100) : data[i]!;
    const c = await checkDetached(bytes, ascs[i]!, trust, new Date());
    running--;
    return c;
  };
  const verdicts = await Promise.all(
    data.map((_, i) =>
      templates.judge(
        sigs[i]!,
        i === 0 ? createHash('sha256').update('x').digest('hex') : signed[i]!,
        fullOf(i),
      ),
    ),
  );
  expect(verdicts[0]!.goodBy).toEqual([]);
  for (const v of verdicts.slice(1)) expect(v.goodBy).toHaveLength(1);
  // The first failed, the second judged the template, the last two came from their digest.
  expect(fulls).toEqual([0, 1]);
  expect(most).toBe(1);
  expect(templates.knows(sigs[3]!)).toBe(true);
});

it('a template openpgp.js did not find clean (another key) is never known', async () => {
  const a = await generateKeyPair({ name: 'a', email: 'a@example.invalid', type: 'ed25519' });
  const b = await generateKeyPair({ name: 'b', email: 'b@example.invalid', type: 'ed25519' });
  const { signer } = await loadSigner({ keyArmored: a.privateArmored });
  const trustB: Trust = {
    keys: await readPublicKeys(new TextEncoder().encode(b.publicArmored)),
    origin: 'test',
  };
  const data = randomBytes(100);
  const sig = new TextEncoder().encode(await signer.detachSignArmored(data));
  const check = await checkDetached(data, sig, trustB, new Date());
  expect(check.goodBy).toEqual([]);
  const templates = new SignatureTemplates(trustB);
  const parsed = await parseDetached(sig);
  templates.remember(parsed!, check);
  expect(templates.knows(parsed!)).toBe(false);
});

describe('checkDetached on a document bigger than a chunk (a driver version json)', () => {
  it('streams it through: a good signature verifies, one changed byte does not, the hashes cover it all', async () => {
    const { signer, trust } = await signerAndTrust('big');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const asc = new TextEncoder().encode(await signer.detachSignArmored(data));
    const h = createHash('sha256');
    const good = await checkDetached(data, asc, trust, new Date(), [h]);
    expect(good.problems).toEqual([]);
    expect(good.goodBy).toHaveLength(1);
    expect(h.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    const changed = Buffer.from(data);
    const at = 2 * 1024 * 1024 + 5;
    changed[at] = changed[at]! ^ 1;
    const bad = await checkDetached(changed, asc, trust, new Date());
    expect(bad.goodBy).toEqual([]);
    expect(bad.problems.join(' ')).toMatch(/did not match|does not verify|invalid/i);
  });
});
