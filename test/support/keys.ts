import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair } from '../../src/signing/generate-key.js';
import { scratchRoot } from './paths.js';

export interface TestKey {
  dir: string;
  secretFile: string;
  publicFile: string;
  fingerprint: string;
  privateArmored: string;
  publicArmored: string;
}

/** A fresh ed25519 project key in its own temp folder. */
export async function makeTestKey(passphrase?: string): Promise<TestKey> {
  await mkdir(scratchRoot, { recursive: true });
  const dir = await mkdtemp(join(scratchRoot, 'key-'));
  const pair = await generateKeyPair({
    name: 'pkgpub test',
    email: 'test@example.invalid',
    type: 'ed25519',
    ...(passphrase ? { passphrase } : {}),
  });
  const secretFile = join(dir, 'secret.asc');
  const publicFile = join(dir, 'public.asc');
  await writeFile(secretFile, pair.privateArmored, { mode: 0o600 });
  await writeFile(publicFile, pair.publicArmored);
  return { dir, secretFile, publicFile, ...pair };
}
