import { openStore, type StoreFlags } from '../storage/open-store.js';
import type { ObjectStore } from '../storage/object-store.js';

/** The flags every command that opens a tree takes (docs/cli.md: target flags). */
export interface TargetFlags {
  to: string;
  endpoint?: string | undefined;
  region?: string | undefined;
  'force-path-style'?: boolean | undefined;
}

/**
 * The store `--to` names, with the S3 flags given; `extra` is what only some commands take
 * (`--concurrency`, `--hardlink`).
 */
export function targetStore(
  values: TargetFlags,
  extra: { concurrency?: number | undefined; hardlink?: boolean | undefined } = {},
): Promise<ObjectStore> {
  const flags: StoreFlags = {
    ...(values.endpoint ? { endpoint: values.endpoint } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(values['force-path-style'] ? { forcePathStyle: true } : {}),
    ...(extra.hardlink ? { hardlink: true } : {}),
    ...(extra.concurrency ? { concurrency: extra.concurrency } : {}),
  };
  return openStore(values.to, flags);
}
