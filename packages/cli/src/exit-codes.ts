// The exit codes of every dlock command (docs/design.md §1): a contract that scripts rely on.
export const EXIT = {
  /** Done. */
  OK: 0,
  /** Any other error (bad answer, I/O, refused start). */
  ERROR: 1,
  /** Bad flags or arguments. */
  USAGE: 2,
  /** The lock is held by someone else (not acquired). */
  LOCK_BUSY: 3,
  /** The lock was lost while the command ran. */
  LOCK_LOST: 4,
  /** No leader answered within the deadline (no quorum, or no node reachable). */
  UNAVAILABLE: 5,
  /** The server refused the credentials (missing or unknown auth token or client certificate). */
  UNAUTHENTICATED: 6,
  /** The credentials do not grant the operation (on that key). */
  PERMISSION_DENIED: 7,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Raised by a command to end the process with `code` after printing `message` to stderr. */
export class CliExit extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.name = "CliExit";
    this.exitCode = exitCode;
  }
}
