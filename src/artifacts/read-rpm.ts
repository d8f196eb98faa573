import { ArtifactError } from '../errors.js';
import type { RpmArtifact } from './types.js';

export async function readRpm(path: string): Promise<RpmArtifact> {
  throw new ArtifactError(path, 'not implemented yet');
}
