import { UsageError } from '../errors.js';

/**
 * `drivers rollback` and `drivers history` take no --channel, so their parsers do not know it;
 * naming it is still a usage error (exit 2) with the reason, not parseArgs' unknown option.
 */
export function refuseChannel(command: string, args: string[]): void {
  const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (own.some((a) => a === '--channel' || a.startsWith('--channel=')))
    throw new UsageError(`${command} takes no --channel: every channel shares the driver tree`);
}
