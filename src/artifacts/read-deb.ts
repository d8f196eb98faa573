import { ArtifactError } from '../errors.js';
import type { DebArtifact } from './types.js';

export async function readDeb(path: string): Promise<DebArtifact> {
  throw new ArtifactError(path, 'not implemented yet');
}
