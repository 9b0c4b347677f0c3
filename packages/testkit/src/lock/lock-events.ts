/**
 * The hard cases a lock checker must see to mean anything, counted per run. A run set in which
 * one of REQUIRED_LOCK_EVENTS never happened fails: zero violations would prove nothing there.
 */
export interface LockEventCounts {
  /** A new leader was elected while an acquire was on the wire unanswered. */
  leaderChangeDuringAcquire: number;
  /** A lease expired (expire applied) while its holder's process was paused. */
  expiryWhileHolderPaused: number;
  /** A node crashed with writes appended but not yet fsynced. */
  crashBetweenAppendAndFsync: number;
  /** An expire reached the log after a refresh of the same grant: it must be stale. */
  refreshRacingExpire: number;
  /** A node process, or a client process, was paused for longer than the longest TTL. */
  nodePauseLongerThanTtl: number;
  clientPauseLongerThanTtl: number;
  /** Wall-clock steps survived (nothing may read the wall clock). */
  wallClockJumps: number;
  /** Grants of a key (new tokens), of which handed to a queued waiter. */
  grants: number;
  waiterGrants: number;
  /** Leases ended by the leader's expire. */
  expiries: number;
  /** Committed expire / waiterExpire / clearDelay entries (stale ones included). */
  leaseCommandsCommitted: number;
}

export const REQUIRED_LOCK_EVENTS = [
  "leaderChangeDuringAcquire",
  "expiryWhileHolderPaused",
  "crashBetweenAppendAndFsync",
  "refreshRacingExpire",
] as const satisfies readonly (keyof LockEventCounts)[];

export function emptyLockEvents(): LockEventCounts {
  return {
    leaderChangeDuringAcquire: 0,
    expiryWhileHolderPaused: 0,
    crashBetweenAppendAndFsync: 0,
    refreshRacingExpire: 0,
    nodePauseLongerThanTtl: 0,
    clientPauseLongerThanTtl: 0,
    wallClockJumps: 0,
    grants: 0,
    waiterGrants: 0,
    expiries: 0,
    leaseCommandsCommitted: 0,
  };
}

export function addLockEvents(into: LockEventCounts, from: LockEventCounts): void {
  for (const key of Object.keys(into) as (keyof LockEventCounts)[]) into[key] += from[key];
}

/** The required categories that never happened (empty: the run set saw them all). */
export function missingLockEvents(counts: LockEventCounts): string[] {
  return REQUIRED_LOCK_EVENTS.filter((name) => counts[name] === 0);
}
