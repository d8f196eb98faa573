import { parentPort } from 'node:worker_threads';
import { PkgpubError } from '../errors.js';
import { readArtifact, type ScanOptions } from './scan.js';
import type { ArtifactKind } from './types.js';

/** Worker side of the read pool: reads one artifact per message and posts it back (or the error). */
parentPort?.on(
  'message',
  async (msg: { id: number; path: string; kind: ArtifactKind; opts: ScanOptions }) => {
    try {
      const artifact = await readArtifact(msg.path, msg.kind, msg.opts);
      parentPort?.postMessage({ id: msg.id, artifact });
    } catch (err) {
      const e = err as Error & { code?: string; file?: string; reason?: string };
      parentPort?.postMessage({
        id: msg.id,
        error: {
          name: e.name,
          message: e.message,
          code: err instanceof PkgpubError ? e.code : 'internal',
          file: e.file,
          reason: e.reason,
        },
      });
    }
  },
);
