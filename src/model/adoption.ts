import type { Snapshot } from './history.js';
import type { OutputFile } from './tiers.js';

/** What taking over one repository another tool made (apt or yum) found and would write. */
export interface RepoAdoption {
  /** No pointer (Release, repomd.xml) under the kind's prefix: nothing to take over. */
  absent: boolean;
  /** The repository already reads as pkgpub's own, signed by this key (nothing rewritten). */
  own: boolean;
  /** Packages listed by the indexes taken over. */
  packages: number;
  /**
   * Index files pkgpub does not write (Packages.bz2, Contents-*, per-arch Release; sqlite
   * databases, old repodata xml), as garbage.
   */
  retired: string[];
  outputs: OutputFile[];
  /** The pointer's text as read and (when rewritten) written: the channel history's part. */
  snapshot: { read: Snapshot; written: Snapshot };
}
