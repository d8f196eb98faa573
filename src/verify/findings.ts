/** What verify reports: one finding per problem, grouped by the part of the site it belongs to. */

export type Level = 'error' | 'warning' | 'note';

export type Part = 'apt' | 'yum' | 'tarballs' | 'drivers' | 'listings' | 'keys' | 'cdn' | 'site';

export interface Finding {
  level: Level;
  part: Part;
  /** The file the finding is about, as a key from the site's root. */
  file: string;
  /** A short stable name for the rule (`apt.index-hash`), for scripts reading --json. */
  rule: string;
  message: string;
}

export interface PartSummary {
  part: Part;
  /** What was looked at, e.g. "2 suites, 3 indexes, 120 packages". */
  checked: string;
  errors: number;
  warnings: number;
}

/** Collects findings as the checks run; `onFinding` lets the command print each as it comes. */
export class Findings {
  readonly all: Finding[] = [];
  private readonly checked = new Map<Part, string[]>();
  constructor(private readonly onFinding?: (f: Finding) => void) {}

  add(level: Level, part: Part, file: string, rule: string, message: string): void {
    const f = { level, part, file, rule, message };
    this.all.push(f);
    this.onFinding?.(f);
  }
  error(part: Part, file: string, rule: string, message: string): void {
    this.add('error', part, file, rule, message);
  }
  warning(part: Part, file: string, rule: string, message: string): void {
    this.add('warning', part, file, rule, message);
  }
  note(part: Part, file: string, rule: string, message: string): void {
    this.add('note', part, file, rule, message);
  }
  /** Records what a part's check covered, for the summary. */
  covered(part: Part, what: string): void {
    const list = this.checked.get(part) ?? [];
    list.push(what);
    this.checked.set(part, list);
  }

  summary(): PartSummary[] {
    const parts = new Set<Part>([...this.checked.keys(), ...this.all.map((f) => f.part)]);
    return [...parts].map((part) => ({
      part,
      checked: (this.checked.get(part) ?? []).join(', ') || 'nothing found',
      errors: this.all.filter((f) => f.part === part && f.level === 'error').length,
      warnings: this.all.filter((f) => f.part === part && f.level === 'warning').length,
    }));
  }

  /**
   * Takes in what another collector found, as if found here now (each finding printed as it is
   * added): checks that ran beside this one's report in the order they would have run in.
   */
  absorb(other: Findings): void {
    for (const f of other.all) this.add(f.level, f.part, f.file, f.rule, f.message);
    for (const [part, what] of other.checked) for (const w of what) this.covered(part, w);
  }

  get errors(): number {
    return this.all.filter((f) => f.level === 'error').length;
  }
}

export function formatFinding(f: Finding): string {
  return `${f.level}: ${f.file}: ${f.rule}: ${f.message}`;
}
