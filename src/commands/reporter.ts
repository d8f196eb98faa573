/**
 * How commands talk to the user. Only cli.ts creates one (writing to the process streams);
 * tests create one that records, so no command ever touches process.stdout itself.
 */
export interface Reporter {
  /** A result line on stdout (what --json consumers parse). */
  out(line: string): void;
  /** A progress or status line on stderr. */
  info(line: string): void;
  warn(line: string): void;
  /** A transient progress line: redrawn in place on a terminal, dropped otherwise (plain step lines go through info). */
  status(line: string): void;
  /** True when stderr is a terminal: progress may redraw in place. */
  readonly interactive: boolean;
}

export function recordingReporter(): Reporter & { lines: string[]; infos: string[]; warnings: string[] } {
  const lines: string[] = [];
  const infos: string[] = [];
  const warnings: string[] = [];
  return {
    lines,
    infos,
    warnings,
    interactive: false,
    out: (l) => lines.push(l),
    info: (l) => infos.push(l),
    warn: (l) => warnings.push(l),
    status: () => {},
  };
}
