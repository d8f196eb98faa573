import { ArtifactError } from '../errors.js';
import type { TarballArtifact } from './types.js';

export async function readTarball(path: string): Promise<TarballArtifact> {
  throw new ArtifactError(path, 'not implemented yet');
}
