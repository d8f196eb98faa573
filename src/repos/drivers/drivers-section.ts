import type { DriverArtifact } from '../../artifacts/types.js';
import type { Section } from '../section.js';
import { buildDrivers, type DriverState } from './build-drivers.js';
import { readDriverState } from './read-driver-state.js';
import { signDriverIndexes } from './sign-indexes.js';
import { driverSiteFiles } from './site-files.js';

/**
 * Driver files at driver/<version>/<arch>/<file>, the per-version json and index.json (each with
 * a .asc when signed), and the driver browser page. Drivers get no .asc each (100k signatures per version would dwarf the
 * drivers); each driver's sha256 is listed in its version json instead. The version json is
 * written through the transaction's spill as it is encoded (a 100,000-driver one is ~50 MB).
 */
export const driversSection: Section<DriverArtifact[], DriverState> = {
  kind: 'drivers',
  scope(input) {
    const drivers = input.artifacts.filter((a): a is DriverArtifact => a.kind === 'driver');
    return drivers.length > 0 ? drivers : undefined;
  },
  readState(ctx, drivers) {
    return readDriverState(ctx.store, ctx.cfg, new Set(drivers.map((d) => d.driverVersion)));
  },
  async build(ctx, state, drivers) {
    const drv = buildDrivers({
      cfg: ctx.cfg,
      state,
      drivers,
      force: ctx.force,
      now: ctx.now,
      open: ctx.open,
    });
    if (!drv.changed) return { changes: drv.changes, outputs: [], garbage: [] };
    return {
      changes: drv.changes,
      outputs: [
        ...drv.blobs,
        ...(await signDriverIndexes(ctx.cfg, drv.files, ctx.signer)),
        ...(await driverSiteFiles(ctx.cfg, drv.versions)),
      ],
      garbage: drv.garbage,
    };
  },
};
