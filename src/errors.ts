/**
 * One small error hierarchy. Every failure a user can cause ends in a PkgpubError whose
 * code says which seam it came from; the CLI maps codes to exit statuses and prints
 * `message` (never a stack) unless PKGPUB_DEBUG is set.
 */
export type ErrorCode =
  | 'usage'
  | 'config'
  | 'artifact'
  | 'signing'
  | 'storage'
  | 'conflict'
  | 'nothing'
  | 'internal';

export class PkgpubError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'PkgpubError';
  }
}

/** An artifact could not be read: `file` is always named, `reason` says why in one line. */
export class ArtifactError extends PkgpubError {
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super('artifact', `${file}: ${reason}`, options);
    this.name = 'ArtifactError';
    this.file = file;
    this.reason = reason;
  }
}

export class ConfigError extends PkgpubError {
  /** Every problem found, so a user fixes them all in one go. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      'config',
      problems.length === 1 ? problems[0]! : `${problems.length} problems:\n  ${problems.join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export class UsageError extends PkgpubError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'UsageError';
  }
}

/**
 * The command ran as told and found nothing to do what it was asked on (a publish whose inputs hold
 * no artifact, a remove that matches no package): in CI that is almost always a wrong path or
 * name, so it fails rather than reporting success.
 */
export class NothingMatchedError extends PkgpubError {
  constructor(message: string) {
    super('nothing', message);
    this.name = 'NothingMatchedError';
  }
}

export class SigningError extends PkgpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('signing', message, options);
    this.name = 'SigningError';
  }
}

export class StorageError extends PkgpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('storage', message, options);
    this.name = 'StorageError';
  }
}

/**
 * The target already holds this name with other bytes (a package version, a tarball, a driver):
 * only the user can decide, with --force. Never retried.
 */
export class ContentConflictError extends PkgpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('conflict', message, options);
    this.name = 'ContentConflictError';
  }
}

/**
 * A conditional write found the object changed since it was read (or present when it was to be
 * created): someone else committed first. The transaction re-reads the target and tries again.
 */
export class PreconditionError extends PkgpubError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('conflict', message, options);
    this.name = 'PreconditionError';
  }
}

/** Exit status for a failure: 2 for what the user must fix in the command or config, else 1. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof PkgpubError && (err.code === 'usage' || err.code === 'config')) return 2;
  return 1;
}
