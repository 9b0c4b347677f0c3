import { CodedError } from "@dlock/protocol";

/**
 * Stable codes of everything a caller of the lock state machine can cause. They travel over the
 * wire unchanged, so never rename one.
 */
export type LockErrorCode =
  /** A field is out of its documented range (key or value size, TTL, wait, lock delay). */
  | "INVALID_ARGUMENT"
  /** The key is held by another value (or is in its lock delay) and the caller did not queue. */
  | "LOCK_BUSY"
  /** A refresh named a grant (value and token) that is not the current holder. */
  | "NOT_OWNER"
  /** The key already has `waitersPerKeyMax` queued waiters. */
  | "WAITERS_FULL"
  /** The table already has `locksMax` keys. */
  | "LOCKS_FULL"
  /** A lock acquire on a semaphore key, or a semaphore acquire on a lock key. */
  | "KIND_MISMATCH"
  /** A semaphore acquire whose `permits` differs from the key's (fixed by its first acquirer). */
  | "SEMAPHORE_PERMITS_MISMATCH"
  /** Bytes that are not a command, a snapshot or a lock record of this version. */
  | "MALFORMED";

/** The one error class of the lock package; `field` names the offending input where there is one. */
export class LockError extends CodedError<LockErrorCode> {
  readonly field: string | null;
  constructor(code: LockErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LockError";
    this.field = options?.field ?? null;
  }
}

/** A broken internal invariant or a host that misuses the API (e.g. applies an index twice). */
export class LockInvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockInvariantError";
  }
}
