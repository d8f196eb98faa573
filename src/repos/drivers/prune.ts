import { sortDriverVersions } from './driver-version.js';

export interface PrunePlan {
  /** Newest first. */
  keep: string[];
  /** Newest first. */
  remove: string[];
}

/** Pure: which driver versions survive `--keep N` (the newest N by driver-version order). */
export function planPrune(versions: Iterable<string>, keep: number): PrunePlan {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError('keep must be a whole number of at least 1');
  const sorted = sortDriverVersions(versions);
  return { keep: sorted.slice(0, keep), remove: sorted.slice(keep) };
}
