import type { Plan } from '../model/plan.js';
import { invalidationPaths, staleKeys } from './invalidation-paths.js';

/** The seam between publishing and a CDN: one invalidation request for a set of paths. */
export interface CdnInvalidator {
  /** For messages: "CloudFront distribution E123ABC". Never contains credentials. */
  readonly description: string;
  /** What goes in front of a store key to make the CDN's path ('/' or '/prefix/'). */
  readonly pathsPrefix: string;
  /** Sends one invalidation; resolves to the CDN's id for it. */
  invalidate(paths: string[]): Promise<{ id: string }>;
}

/** What happened to the CDN after a plan was applied (or, in a dry run, what would). */
export type CdnOutcome =
  | { status: 'dry-run'; target: string; paths: string[] }
  | { status: 'sent'; target: string; id: string; paths: string[] }
  | { status: 'failed'; target: string; paths: string[]; reason: string };

/**
 * The paths a plan would invalidate; nothing is sent. `earlier`: the plans of an optimistic
 * publish's attempts that ended in a conflict, which may have rewritten indexes before it; the
 * last attempt finding them already in place does not make CDN copies of the old ones fresh.
 */
export function plannedInvalidation(
  cdn: CdnInvalidator,
  plan: Plan,
  earlier: readonly Plan[] = [],
): CdnOutcome | undefined {
  const keys = [...new Set([plan, ...earlier].flatMap(staleKeys))];
  const paths = invalidationPaths(keys, cdn.pathsPrefix);
  return paths.length === 0 ? undefined : { status: 'dry-run', target: cdn.description, paths };
}

/**
 * Invalidates what an applied plan changed in place. Never throws: the publish is already
 * committed, and failing it now would only make a retry re-do work that is done. The caller
 * reports a failure as a warning; the cached copies then expire by their max-age.
 */
export async function invalidateApplied(
  cdn: CdnInvalidator,
  plan: Plan,
  earlier: readonly Plan[] = [],
): Promise<CdnOutcome | undefined> {
  const planned = plannedInvalidation(cdn, plan, earlier);
  if (!planned) return undefined;
  const { target, paths } = planned;
  try {
    const { id } = await cdn.invalidate(paths);
    return { status: 'sent', target, id, paths };
  } catch (err) {
    return { status: 'failed', target, paths, reason: reasonOf(err) };
  }
}

/** One line, no stack, bounded: SDK errors carry a name, a message and the HTTP status. */
function reasonOf(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  const msg = (e?.message || String(err)).replace(/\s+/g, ' ').trim();
  const line = `${name}${msg}${status ? ` (HTTP ${status})` : ''}`;
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
