// The options of one semaphore() call: a lock's options plus the permit counts.
import { InvalidArgumentError, PERMITS_MAX } from "@dlock/protocol";
import type { LockOptions } from "./lock-options.js";

/** Options of `locker.semaphore()`: every LockOptions field, plus the permits. */
export interface SemaphoreOptions extends LockOptions {
  /**
   * N: how many permits the semaphore has. Every user of the key must pass the same N while it
   * has holders or waiters (PermitsMismatchError otherwise). Required.
   */
  permits: number;
  /** k: how many of the N permits this holder takes at once. Default 1. */
  count?: number;
}

export const DEFAULT_SEMAPHORE_COUNT = 1;

/** The permit counts of a semaphore() call, validated; the rest resolves as lock options. */
export function resolveSemaphoreCounts(options: SemaphoreOptions | undefined): {
  permits: number;
  count: number;
} {
  if (options === undefined || typeof options !== "object")
    throw new InvalidArgumentError("permits", "semaphore() needs { permits: N }");
  const { permits } = options;
  const count = options.count ?? DEFAULT_SEMAPHORE_COUNT;
  if (typeof permits !== "number" || !Number.isInteger(permits) || permits < 1)
    throw new InvalidArgumentError("permits", `must be a positive integer, got ${String(permits)}`);
  if (permits > PERMITS_MAX)
    throw new InvalidArgumentError("permits", `must be at most ${PERMITS_MAX}`);
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > permits)
    throw new InvalidArgumentError(
      "count",
      `must be an integer between 1 and permits (${permits}), got ${String(count)}`,
    );
  return { permits, count };
}
