import { parseArgs } from 'node:util';
import { findArtifacts, readArtifact, type ScanOptions } from '../artifacts/scan.js';
import type { Artifact } from '../artifacts/types.js';
import { formatBytes } from '../format-bytes.js';
import { UsageError } from '../errors.js';
import type { Reporter } from './reporter.js';
import { parseOptions } from './table/commands.js';

export interface InspectOptions extends ScanOptions {
  json: boolean;
}

/** `pkgpub inspect`: read each artifact and show what pkgpub understood of it. */
export async function inspect(inputs: string[], opts: InspectOptions, r: Reporter): Promise<Artifact[]> {
  const found = await findArtifacts(inputs);
  const results: Artifact[] = [];
  for (const { path, kind } of found) {
    const a = await readArtifact(path, kind, opts);
    results.push(a);
    if (opts.json) r.out(JSON.stringify(a));
    else r.out(describe(a));
  }
  return results;
}

function describe(a: Artifact): string {
  const head = `${a.path}\n  ${a.kind} ${a.name} ${a.version} ${a.arch}  ${formatBytes(a.size)} (${a.size} bytes)\n  sha256 ${a.sha256}`;
  switch (a.kind) {
    case 'deb':
      return `${head}\n  control.tar: ${a.controlCompression}, data.tar: ${a.dataCompression}\n${a.control
        .map((f) => `  | ${f.name}: ${f.value.replace(/\n/g, '\n  | ')}`)
        .join('\n')}`;
    case 'rpm':
      return `${head}\n  ${a.nevra}  ${a.summary}\n  signed: ${a.signature.signed ? `yes (${a.signature.keyId ?? 'unknown key'})` : 'no'}; ${a.requires.length} requires, ${a.provides.length} provides, ${a.files.length} files`;
    case 'tarball':
      return `${head}\n  ${a.entries} entries${a.static ? ', static build' : ''}`;
    case 'driver':
      return `${head}\n  ${a.driverKind} for ${a.target} ${a.kernelRelease} ${a.kernelVersion}, driver ${a.driverVersion}`;
  }
}

/** `pkgpub inspect FILE_OR_DIR...`. */
export async function runInspect(args: string[], r: Reporter): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: parseOptions('inspect'),
  });
  if (positionals.length === 0) throw new UsageError('inspect: name at least one file or folder');
  const driver: { driverVersion?: string; arch?: string } = {};
  if (values['driver-version']) driver.driverVersion = values['driver-version'];
  if (values.arch) driver.arch = values.arch;
  await inspect(positionals, { json: values.json ?? false, driver }, r);
}
