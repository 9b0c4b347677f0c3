import {
  ConfigError,
  PERMITS_MAX,
  TABLE_LIMIT_NAMES,
  WAITERS_PER_KEY_MAX,
  integerOption,
  positiveInteger,
} from "@dlock/protocol";
import type { TableLimitName } from "@dlock/protocol";

/**
 * TTLs must be at least this many election timeouts. A client refreshes every ttl/3, so with a
 * 5× floor it keeps more than 3 election timeouts (2/3 of the TTL) to get one refresh through a
 * newly elected leader: one leader change (detection ≤ 2 timeouts, plus the vote) never costs a
 * well-behaved holder its lock. Safety does not depend on this floor; liveness does.
 */
export const TTL_MIN_ELECTION_TIMEOUTS = 5;

/**
 * Limits of the replicated lock table, as configured on one node. apply() never reads these
 * directly: the limits in force are replicated state (TableLimits, set by `setLimits` entries
 * that a leader proposes when its configured limits differ from the cluster's), so members
 * started with different flags still apply the log alike.
 */
export interface LockLimits {
  /** The election timeout of the Raft group; ttlMsMin defaults to TTL_MIN_ELECTION_TIMEOUTS × it. */
  electionTimeoutMs: number;
  /** UTF-8 bytes of a key, at least 1. */
  keyBytesMax?: number;
  /** UTF-8 bytes of a holder value, at least 1. */
  valueBytesMax?: number;
  /** Shortest TTL; must be ≥ TTL_MIN_ELECTION_TIMEOUTS × electionTimeoutMs. */
  ttlMsMin?: number;
  /** Longest TTL. */
  ttlMsMax?: number;
  /** Longest wait a queued acquire may ask for (its waiter lease is min(waitMs, ttlMs)). */
  waitMsMax?: number;
  /** Queued waiters per key. */
  waitersPerKeyMax?: number;
  /** Keys in the table (held, queued on or in lock delay). */
  locksMax?: number;
  /** Longest lock delay an acquire may ask for; 0 disables lock delay. */
  lockDelayMsMax?: number;
  /**
   * Largest permit count N of a semaphore (so also its holders per key), and the most readers
   * that hold one reader-writer key at once (later readers wait, or get LOCK_BUSY).
   */
  semaphorePermitsMax?: number;
}

export type ResolvedLockLimits = Required<LockLimits>;

export const DEFAULT_LOCK_LIMITS = {
  keyBytesMax: 512,
  valueBytesMax: 256,
  ttlMsMax: 24 * 60 * 60 * 1000,
  waitMsMax: 24 * 60 * 60 * 1000,
  waitersPerKeyMax: 256,
  locksMax: 1_000_000,
  lockDelayMsMax: 60_000,
  semaphorePermitsMax: 1024,
} as const;

/** Fills defaults and rejects bad values with a ConfigError naming the limit. */
export function resolveLockLimits(limits: LockLimits): ResolvedLockLimits {
  const electionTimeoutMs = positiveInteger(
    limits.electionTimeoutMs,
    undefined,
    "electionTimeoutMs",
  );
  const floor = TTL_MIN_ELECTION_TIMEOUTS * electionTimeoutMs;
  const resolved: ResolvedLockLimits = {
    electionTimeoutMs,
    keyBytesMax: positiveInteger(
      limits.keyBytesMax,
      DEFAULT_LOCK_LIMITS.keyBytesMax,
      "keyBytesMax",
    ),
    valueBytesMax: positiveInteger(
      limits.valueBytesMax,
      DEFAULT_LOCK_LIMITS.valueBytesMax,
      "valueBytesMax",
    ),
    ttlMsMin: positiveInteger(limits.ttlMsMin, floor, "ttlMsMin"),
    ttlMsMax: positiveInteger(limits.ttlMsMax, DEFAULT_LOCK_LIMITS.ttlMsMax, "ttlMsMax"),
    waitMsMax: positiveInteger(limits.waitMsMax, DEFAULT_LOCK_LIMITS.waitMsMax, "waitMsMax"),
    waitersPerKeyMax: positiveInteger(
      limits.waitersPerKeyMax,
      DEFAULT_LOCK_LIMITS.waitersPerKeyMax,
      "waitersPerKeyMax",
    ),
    locksMax: positiveInteger(limits.locksMax, DEFAULT_LOCK_LIMITS.locksMax, "locksMax"),
    lockDelayMsMax: integerOption(
      limits.lockDelayMsMax,
      DEFAULT_LOCK_LIMITS.lockDelayMsMax,
      "lockDelayMsMax",
      0,
    ),
    semaphorePermitsMax: positiveInteger(
      limits.semaphorePermitsMax,
      DEFAULT_LOCK_LIMITS.semaphorePermitsMax,
      "semaphorePermitsMax",
    ),
  };
  if (resolved.ttlMsMin < floor) {
    throw new ConfigError(
      "ttlMsMin",
      `${resolved.ttlMsMin} must be ≥ ${TTL_MIN_ELECTION_TIMEOUTS} election timeouts (${floor} ms) so a lease survives a leader change`,
    );
  }
  if (resolved.semaphorePermitsMax > PERMITS_MAX) {
    throw new ConfigError(
      "semaphorePermitsMax",
      `${resolved.semaphorePermitsMax} must be ≤ ${PERMITS_MAX}, the most permits a client may ask for`,
    );
  }
  if (resolved.waitersPerKeyMax > WAITERS_PER_KEY_MAX) {
    throw new ConfigError(
      "waitersPerKeyMax",
      `${resolved.waitersPerKeyMax} must be ≤ ${WAITERS_PER_KEY_MAX}, the most waiters a stored queue may hold`,
    );
  }
  if (resolved.ttlMsMax < resolved.ttlMsMin) {
    throw new ConfigError(
      "ttlMsMax",
      `${resolved.ttlMsMax} must be ≥ ttlMsMin (${resolved.ttlMsMin})`,
    );
  }
  return resolved;
}

/** The limits the lock table enforces in apply(): replicated through the log, equal on every member. */
export type TableLimits = Omit<ResolvedLockLimits, "electionTimeoutMs">;

// Every table limit is replicated, and nothing else is: the two lists must name the same fields.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const NAMES_ARE_THE_TABLE_LIMITS: Same<TableLimitName, keyof TableLimits> = true;
void NAMES_ARE_THE_TABLE_LIMITS;

/** The fields of TableLimits in their log and record order (the protocol's list). */
export { TABLE_LIMIT_NAMES };

/** The table limits of a node's resolved configuration. */
export function tableLimitsOf(limits: TableLimits): TableLimits {
  const out = {} as Record<keyof TableLimits, number>;
  for (const name of TABLE_LIMIT_NAMES) out[name] = limits[name];
  return out;
}

export function sameTableLimits(a: TableLimits, b: TableLimits): boolean {
  return TABLE_LIMIT_NAMES.every((name) => a[name] === b[name]);
}

/**
 * Why a replicated set of limits is unusable, or null. The same rules as resolveLockLimits but
 * the TTL floor, which depends on the proposing leader's election timeout (its own flags were
 * checked against it; the floor protects liveness, not safety).
 */
export function tableLimitsProblem(limits: TableLimits): string | null {
  try {
    resolveLockLimits({ ...limits, electionTimeoutMs: 1 });
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}
