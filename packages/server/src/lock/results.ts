import type { LeaseCommand } from "./commands.js";
import type { LockErrorCode } from "./errors.js";
import type { TableLimits } from "./limits.js";

/**
 * A queued waiter granted in the same apply step as a release, an expire or the end of a lock
 * delay. Its token (and first lease revision) is the index of that entry.
 *
 * What the server tells the waiting client: `token` and `ttlMs` (the granted lease length), never
 * a deadline or a "remaining" figure the client would start counting on receipt. The cluster's
 * deadline for this grant is ≥ (the grant's apply on the leader) + ttlMs, and the grant is applied
 * after the leader received every earlier acquire/keepalive of this waiter. So the client anchors
 * its validity at the SEND time of the latest acquire of this (key, value) that got an answer
 * ("queued" or this grant): valid until anchor + ttlMs × (1 − drift) − margin, which is never
 * longer than the cluster's deadline. A long wait can leave that already short or past: the client
 * then refreshes at once and counts from the refresh's send time.
 */
export interface WaiterGrant {
  value: string;
  token: number;
  leaseRevision: number;
  ttlMs: number;
  requestId: number;
  /** The revision of the waiter's queue lease that this grant consumed. */
  waiterRevision: number;
  /** Length of that queue lease (min(waitMs, ttlMs)). */
  waiterLeaseMs: number;
  /** A semaphore's or reader-writer key's grant: the slots it takes (of the result's `permits`). */
  count?: number;
}

/**
 * On the results of a semaphore or reader-writer key that concern one value: the key's N
 * (`permits`; an rw key's slots) and the value's share (`count`; an rw writer takes all N, a
 * reader 1). Watch events carry them (lockEventsOf).
 */
export interface SlotsShare {
  permits?: number;
  count?: number;
}

/** Acquire of a free key, or by the value that already holds it (`renewed`: same token, new lease). */
export interface GrantedResult extends SlotsShare {
  type: "granted";
  key: string;
  value: string;
  token: number;
  leaseRevision: number;
  ttlMs: number;
  requestId: number;
  renewed: boolean;
  /** A semaphore's permits (the lease is timed per holder value, not per key). */
  permit?: true;
  /** A reader-writer key's grant (with `permit`: its holders are timed like a semaphore's). */
  rw?: true;
}

/** Acquire that joined the key's queue, or a queued value's retry (a keepalive of its queue lease). */
export interface QueuedResult extends SlotsShare {
  type: "queued";
  key: string;
  value: string;
  waiterRevision: number;
  /** The waiter's lease: min(waitMs, ttlMs), from the apply of this entry. */
  waiterLeaseMs: number;
  /** 0-based place in the queue. */
  position: number;
  requestId: number;
  /** This entry put the value in the queue (false: a queued value's retry or keepalive). */
  joined: boolean;
}

/** Acquire without waitMs of a key held by another value or in its lock delay. */
export interface BusyResult extends SlotsShare {
  type: "busy";
  code: "LOCK_BUSY";
  key: string;
  value: string;
  /** The caller was queued and asked again with waitMs 0: it left the queue. */
  dequeued: boolean;
  /** The key is free of holders but in its lock delay. */
  inLockDelay: boolean;
  /** Semaphore waiters granted because the caller left the queue (same step, token = index). */
  grants?: WaiterGrant[];
  /** A reader-writer key's. */
  rw?: true;
}

export interface RefreshedResult extends SlotsShare {
  type: "refreshed";
  key: string;
  value: string;
  token: number;
  leaseRevision: number;
  ttlMs: number;
  permit?: true;
  rw?: true;
}

export interface ReleasedResult extends SlotsShare {
  type: "released";
  key: string;
  value: string;
  token: number;
  next: WaiterGrant | null;
  /** A semaphore holder's release: `next` is null and `grants` lists every waiter granted. */
  permit?: true;
  grants?: WaiterGrant[];
  /** A reader-writer key's. */
  rw?: true;
}

/** Release of a grant that is not (or no longer) the holder: nothing changed; not an error. */
export interface NotHeldResult {
  type: "notHeld";
  key: string;
  value: string;
  token: number;
}

export interface ExpiredResult extends SlotsShare {
  type: "expired";
  key: string;
  value: string;
  token: number;
  /** > 0: the key entered its lock delay at this entry (no waiter was granted). */
  delayRevision: number;
  lockDelayMs: number;
  next: WaiterGrant | null;
  /** A semaphore holder's expiry (never a lock delay): `grants` lists every waiter granted. */
  permit?: true;
  grants?: WaiterGrant[];
  /** A reader-writer key's. */
  rw?: true;
}

export interface WaiterRemovedResult extends SlotsShare {
  type: "waiterRemoved";
  key: string;
  value: string;
  waiterRevision: number;
  reason: "expired" | "cancelled";
  /** Semaphore waiters behind it granted now that it no longer blocks them. */
  grants?: WaiterGrant[];
  /** A reader-writer key's. */
  rw?: true;
}

/** cancelWait of a value that is not queued; heldToken > 0 if it holds the key (e.g. just granted). */
export interface NotQueuedResult {
  type: "notQueued";
  key: string;
  value: string;
  heldToken: number;
}

export interface DelayClearedResult {
  type: "delayCleared";
  key: string;
  next: WaiterGrant | null;
}

/** A lease command that names a lease, waiter or delay that no longer exists in that form. */
export interface StaleResult {
  type: "stale";
  key: string;
  command: LeaseCommand;
}

export interface RejectedResult {
  type: "rejected";
  code: Exclude<LockErrorCode, "LOCK_BUSY">;
  key: string;
  /** The offending field for INVALID_ARGUMENT, else null. */
  field: string | null;
  message: string;
}

/**
 * A setLimits entry applied: `limits` are in force from it on. `changed`: the table held no
 * replicated limits, or other ones.
 */
export interface LimitsSetResult {
  type: "limitsSet";
  key: "";
  limits: TableLimits;
  changed: boolean;
}

export type LockResult =
  | GrantedResult
  | LimitsSetResult
  | QueuedResult
  | BusyResult
  | RefreshedResult
  | ReleasedResult
  | NotHeldResult
  | ExpiredResult
  | WaiterRemovedResult
  | NotQueuedResult
  | DelayClearedResult
  | StaleResult
  | RejectedResult;

/** A read of one key (free keys read as not held with zeros). */
export interface LockInfo {
  key: string;
  held: boolean;
  value: string | null;
  fencingToken: number;
  /** The lease length as last granted or refreshed (not a remaining time: the table has no clock). */
  ttlMs: number;
  leaseRevision: number;
  waiters: number;
  inLockDelay: boolean;
  /** Present for a semaphore key: N and the permits held (value is null, token the newest). */
  semaphore?: { permits: number; held: number; holders: number };
  /**
   * Present for a reader-writer key: its readers, or its writer (then also `value`); the token is
   * the newest grant's.
   */
  rw?: { readers: number; writer: string | null };
}

/** Every multi-holder waiter a result granted (in FIFO order); empty for lock results. */
export function permitGrantsOf(result: LockResult): readonly WaiterGrant[] {
  switch (result.type) {
    case "released":
    case "expired":
    case "waiterRemoved":
    case "busy":
      return result.grants ?? [];
    default:
      return [];
  }
}
