import { ArtifactError } from '../errors.js';
import type { DriverArtifact } from './types.js';

export interface DriverContext {
  driverVersion: string;
  arch: string;
}

export async function readDriver(path: string, _ctx?: Partial<DriverContext>): Promise<DriverArtifact> {
  throw new ArtifactError(path, 'not implemented yet');
}
