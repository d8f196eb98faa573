import { type Stats, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../errors.js';
import type { DriverContext } from './read-driver.js';
import type { PrehashTemplate } from '../signing/prehash.js';
import type { Artifact, ArtifactKind } from './types.js';

/** Which reader a file name calls for; undefined for files pkgpub does not publish. */
export function kindOf(fileName: string): ArtifactKind | undefined {
  if (fileName.endsWith('.deb')) return 'deb';
  if (fileName.endsWith('.rpm')) return 'rpm';
  if (fileName.endsWith('.tar.gz') || fileName.endsWith('.tgz')) return 'tarball';
  if (fileName.endsWith('.ko') || fileName.endsWith('.o')) return 'driver';
  return undefined;
}

export interface ScanOptions {
  /** Overrides for driver files, when the folder layout does not say it. */
  driver?: Partial<DriverContext>;
  /** Also compute each file's detached-signature digest (publish with a signer). */
  prehash?: PrehashTemplate;
}

/**
 * Each reader is loaded on first use: a worker thread starts per core for every publish, and one
 * that reads only rpms need not load tar-stream, lzma-native and fzstd (a third of its start-up).
 */
export async function readArtifact(
  path: string,
  kind: ArtifactKind,
  opts: ScanOptions = {},
): Promise<Artifact> {
  switch (kind) {
    case 'deb':
      return (await import('./read-deb.js')).readDeb(path, opts.prehash);
    case 'rpm':
      return (await import('./read-rpm.js')).readRpm(path, opts.prehash);
    case 'tarball':
      return (await import('./read-tarball.js')).readTarball(path, opts.prehash);
    case 'driver':
      return (await import('./read-driver.js')).readDriver(path, opts.driver, opts.prehash);
  }
}

/**
 * Expands the command line's files and folders into the artifact paths to read, in a stable
 * order. A named file must be a known kind; inside folders, unknown files (.asc, READMEs) are skipped.
 */
export async function findArtifacts(inputs: string[]): Promise<{ path: string; kind: ArtifactKind }[]> {
  const found: { path: string; kind: ArtifactKind }[] = [];
  for (const input of inputs) {
    // Synchronous: a CI job names every file, and 500 stats as promises, one after the other,
    // were 35 ms of round trips through libuv's pool before the first read could start.
    let st: Stats;
    try {
      st = statSync(input);
    } catch {
      throw new ArtifactError(input, 'no such file or directory');
    }
    if (st.isDirectory()) {
      for (const path of await walk(input)) {
        const kind = kindOf(path);
        if (kind) found.push({ path, kind });
      }
    } else {
      const kind = kindOf(input);
      if (!kind)
        throw new ArtifactError(input, 'unknown artifact type (expected .deb, .rpm, .tar.gz, .ko or .o)');
      found.push({ path: input, kind });
    }
  }
  return found;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
