import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readKeys } from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { publishExtendedKey } from '../../src/changes/extend-key.js';
import { rebuildSite } from '../../src/changes/rebuild-site.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { FsStore } from '../../src/storage/fs-store.js';
import { scratchRoot } from '../support/paths.js';

const DAY = 86_400_000;
const cfg = resolveConfig({}, { baseUrl: 'https://dl.example.test' });
let scratch: string;

beforeAll(async () => {
  await mkdir(scratchRoot, { recursive: true });
  scratch = await mkdtemp(join(scratchRoot, 'extend-change-'));
});

const pair = (name: string) =>
  generateKeyPair({ name, email: `${name}@pkgpub.test`, type: 'ed25519', expiresInDays: 30 });

describe('publishExtendedKey', () => {
  it('replaces the key in a bundle of two in place, keeps the other, and the root notice ends at the old expiry', async () => {
    const [other, ours] = await Promise.all([pair('other'), pair('ours')]);
    const root = join(scratch, 'two');
    const store = new FsStore(root);
    // A bundle the way gpg --export --armor writes two keys (the other key first).
    const both = await readKeys({ armoredKeys: other.publicArmored + ours.publicArmored });
    const { armor, enums } = await import('openpgp');
    await store.put(
      'keys/falco-packages.asc',
      {
        bytes: new TextEncoder().encode(
          armor(enums.armor.publicKey, Buffer.concat(both.map((k) => k.write()))),
        ),
      },
      {},
    );
    const now = new Date();
    const old = new Date(now.getTime() + 30 * DAY);
    const extended = await generateKeyPair({
      name: 'ours-extended',
      email: 'x@pkgpub.test',
      type: 'ed25519',
      expiresInDays: 400,
    });
    // Stand-in for a re-certified copy: only its bytes travel; the fingerprint names what it replaces.
    const res = await publishExtendedKey({
      store,
      cfg,
      now,
      fingerprint: ours.fingerprint,
      publicArmored: extended.publicArmored,
      previousExpiry: old,
      expires: new Date(now.getTime() + 400 * DAY),
    });
    expect(res.report.bundleKeys).toEqual([other.fingerprint, extended.fingerprint]);
    const bundle = await readKeys({
      armoredKeys: await readFile(join(root, 'keys/falco-packages.asc'), 'utf8'),
    });
    expect(bundle.map((k) => k.getFingerprint().toUpperCase())).toEqual([
      other.fingerprint,
      extended.fingerprint,
    ]);
    expect(Buffer.from(bundle[0]!.write()).equals(Buffer.from(both[0]!.write()))).toBe(true);
    // The per-key file is named after the key being extended.
    expect(
      await readFile(join(root, `keys/falco-${ours.fingerprint.slice(-8).toLowerCase()}.asc`), 'utf8'),
    ).toBe(extended.publicArmored);
    const page = await readFile(join(root, 'index.html'), 'utf8');
    expect(page).toContain(`fetch it again before <strong>${old.toISOString().slice(0, 10)}</strong>`);

    // Rendered again after the old expiry, the notice is gone: no old copy verifies any more.
    await rebuildSite({ store, cfg, now: new Date(old.getTime() + DAY) });
    expect(await readFile(join(root, 'index.html'), 'utf8')).not.toContain('fetch it again before');
    // And before it, a re-render keeps it.
    await rebuildSite({ store, cfg, now: new Date(old.getTime() - DAY) });
    expect(await readFile(join(root, 'index.html'), 'utf8')).toContain('fetch it again before');
  });
});
