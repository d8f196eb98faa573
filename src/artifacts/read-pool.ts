import { runJobs } from '../workers/pool.js';
import type { ScanOptions } from './scan.js';
import type { Artifact, ArtifactKind } from './types.js';

/** Reads artifacts on every core (see workers/pool.ts); results keep the input order. */
export async function readArtifacts(
  items: { path: string; kind: ArtifactKind }[],
  opts: ScanOptions = {},
  onRead?: (a: Artifact) => void,
): Promise<Artifact[]> {
  return runJobs(
    items.map((it) => ({ type: 'read' as const, path: it.path, kind: it.kind, opts })),
    onRead ? (a) => onRead(a) : undefined,
  );
}
