import { createHash, generateKeyPairSync, publicDecrypt, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signDigests } from '../../src/signing/sign-digests.js';

const digestsOf = (n: number) =>
  Array.from({ length: n }, (_, i) => createHash('sha256').update(`message ${i}`).digest());

/** The MPI's value bytes (2-byte bit count first). */
const mpiValue = (m: Uint8Array) => Buffer.from(m.subarray(2));

describe('signDigests', () => {
  it('RSA: batches go through the job pool and come back in order, each over its own digest', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const digests = digestsOf(40);
    const sigs = await signDigests({ pubkeyAlgo: 1, key: privateKey }, digests);
    expect(sigs.length).toBe(40);
    sigs.forEach((s, i) => {
      // PKCS#1 v1.5: the recovered block ends with the SHA-256 DigestInfo of digest i.
      const block = publicDecrypt(
        publicKey,
        Buffer.concat([Buffer.alloc(256 - mpiValue(s).length), mpiValue(s)]),
      );
      expect(block.subarray(-32).equals(digests[i]!), `signature ${i}`).toBe(true);
    });
  });

  it('Ed25519: signed on this thread, each over its own digest', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const digests = digestsOf(20);
    const sigs = await signDigests({ pubkeyAlgo: 27, key: privateKey }, digests);
    for (const [i, s] of sigs.entries())
      expect(verify(null, digests[i]!, publicKey, Buffer.from(s))).toBe(true);
    expect(verify(null, digests[1]!, publicKey, Buffer.from(sigs[0]!))).toBe(false);
  });
});
