import type { Artifact, DriverArtifact, TarballArtifact } from '../artifacts/types.js';
import { binSumsSignatures, buildBin } from '../repos/bin/build-bin.js';
import { readBinState } from '../repos/bin/read-bin-state.js';
import { buildDrivers } from '../repos/drivers/build-drivers.js';
import { readDriverState } from '../repos/drivers/read-driver-state.js';
import { driverSiteFiles } from '../repos/drivers/site-files.js';
import type { PublishRequest } from './publish.js';
import { blobSignatures, type SignatureDigests } from './sign-outputs.js';
import type { OpenOutput } from './text-output.js';
import type { ChangeSummary, OutputFile } from './types.js';

export interface SectionResult {
  changes: ChangeSummary;
  outputs: OutputFile[];
  garbage: string[];
}

const NONE = (): SectionResult => ({
  changes: { added: [], removed: [], unchanged: [] },
  outputs: [],
  garbage: [],
});

/** Release tarballs: blobs + .asc, and each touched arch folder's SHA256SUMS (+ .asc). */
export async function binSection(
  req: PublishRequest,
  artifacts: Artifact[],
  now: Date,
  digests?: SignatureDigests,
): Promise<SectionResult> {
  const tarballs = artifacts.filter((a): a is TarballArtifact => a.kind === 'tarball');
  if (tarballs.length === 0) return NONE();
  const state = await readBinState(
    req.store,
    req.cfg,
    tarballs.map((t) => t.arch),
  );
  const bin = buildBin({ cfg: req.cfg, state, tarballs, force: req.force ?? false, now });
  if (!bin.changed) return { ...NONE(), changes: bin.changes };
  const outputs = [...bin.blobs, ...bin.files];
  if (req.signer)
    outputs.push(
      ...(await blobSignatures(bin.blobs, req.signer, digests)),
      ...(await binSumsSignatures(bin.files, req.signer)),
    );
  return { changes: bin.changes, outputs, garbage: bin.garbage };
}

/**
 * Driver files at driver/<version>/<arch>/<file>, the per-version json and index.json, and the
 * driver browser page. Drivers get no .asc each (100k signatures per version would dwarf the
 * drivers); each driver's sha256 is listed in its version json instead. `open` takes the version
 * json as it is written (a 100,000-driver one is ~50 MB).
 */
export async function driverSection(
  req: PublishRequest,
  artifacts: Artifact[],
  now: Date,
  open?: OpenOutput,
): Promise<SectionResult> {
  const drivers = artifacts.filter((a): a is DriverArtifact => a.kind === 'driver');
  if (drivers.length === 0) return NONE();
  const versions = new Set<string>();
  for (const d of drivers) versions.add(d.driverVersion);
  const state = await readDriverState(req.store, req.cfg, versions);
  const drv = buildDrivers({
    cfg: req.cfg,
    state,
    drivers,
    force: req.force ?? false,
    now,
    ...(open ? { open } : {}),
  });
  if (!drv.changed) return { ...NONE(), changes: drv.changes };
  return {
    changes: drv.changes,
    outputs: [...drv.blobs, ...drv.files, ...(await driverSiteFiles(req.cfg, drv.versions))],
    garbage: drv.garbage,
  };
}
