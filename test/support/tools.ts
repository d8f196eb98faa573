import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { describe, it } from 'vitest';

/**
 * The one rule for tests that need an external tool (swift, chromium, sqv...): on a developer's
 * machine a missing tool skips them, with the reason in the skipped test's name; under CI (any
 * non-empty CI but "false"/"0") it fails them with a message naming the tool, so a CI run can
 * never pass by skipping what it was meant to prove.
 */
export const inCI = Boolean(process.env.CI) && !['false', '0'].includes(process.env.CI!.toLowerCase());

/** Which of `tools` (names looked up on PATH, or absolute paths) cannot be run here. */
export function missingTools(tools: string[]): string[] {
  return tools.filter((t) => {
    if (t.startsWith('/')) {
      try {
        accessSync(t, constants.X_OK);
        return false;
      } catch {
        return true;
      }
    }
    return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', t], { stdio: 'ignore' }).status !== 0;
  });
}

/** Why the tests cannot run (`need` names what to install), or undefined when every tool is there. */
export function toolsMissing(tools: string[], need?: string): string | undefined {
  const missing = missingTools(tools);
  if (missing.length === 0) return undefined;
  return `${missing.join(', ')} not found${need ? ` (${need})` : ''}`;
}

function failInCI(title: string, why: string): void {
  it(`${title}: ${why}`, () => {
    throw new Error(`${why}; CI requires it`);
  });
}

/**
 * describe(title, fn) when `missing` (from toolsMissing or the like) is undefined; otherwise a
 * skipped describe outside CI, and one failing test naming what is missing under CI.
 */
export function describeWithTools(title: string, missing: string | undefined, fn: () => void): void {
  if (!missing) describe(title, fn);
  else if (inCI) describe(title, () => failInCI('missing tool', missing));
  else describe.skip(`${title} (skipped: ${missing})`, fn);
}

/** it(title, fn, timeout) with the same rule as describeWithTools. */
export function itWithTools(
  title: string,
  missing: string | undefined,
  fn: () => Promise<void> | void,
  timeout?: number,
): void {
  if (!missing) it(title, fn, timeout);
  else if (inCI) failInCI(title, missing);
  else it.skip(`${title} (skipped: ${missing})`, fn);
}
