import { UsageError } from '../errors.js';
import {
  parseAge,
  parseKeep,
  parseProtect,
  parseSize,
  type Protected,
  type RetentionPolicy,
} from '../retention/policy.js';

/** What `retentionFlags` in the command table parses to. */
export interface RetentionFlags {
  keep?: string | undefined;
  'max-size'?: string | undefined;
  'older-than'?: string | undefined;
  protect?: string[] | undefined;
}

/**
 * The flags over the file's policy: each flag given replaces the file's value, except `--protect`,
 * which adds to the file's list (a flag can protect more, never unprotect what the file protects).
 * `named`: protect takes NAME=VERSION (packages) or a bare VERSION (drivers).
 */
export function policyFromFlags(
  command: string,
  flags: RetentionFlags,
  file: RetentionPolicy | undefined,
  named: boolean,
): RetentionPolicy {
  const usage = (f: () => void) => {
    try {
      f();
    } catch (err) {
      throw new UsageError(`${command}: ${(err as Error).message}`);
    }
  };
  const policy: RetentionPolicy = { ...file, protect: [...(file?.protect ?? [])] };
  const extra: Protected[] = [];
  usage(() => {
    if (flags.keep !== undefined) policy.keep = parseKeep(flags.keep);
  });
  usage(() => {
    if (flags['max-size'] !== undefined) policy.maxSize = parseSize(flags['max-size']);
  });
  usage(() => {
    if (flags['older-than'] !== undefined) policy.olderThanMs = parseAge(flags['older-than']);
  });
  for (const p of flags.protect ?? []) usage(() => extra.push(parseProtect(p, named)));
  policy.protect.push(...extra);
  return policy;
}
