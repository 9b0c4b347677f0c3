import type { TableLimits } from "./limits.js";

// The commands of the replicated lock state machine: the data of normal Raft entries. They carry
// durations, never instants, so applying them needs no clock. Tokens and revisions are Raft indexes.

/**
 * Take `key` for `value`. Free key → granted with token = this entry's index. Held by the same
 * value → success with the same token and a fresh lease (a retried request is harmless). Held by
 * another value → LOCK_BUSY, or a place in the key's FIFO queue when waitMs > 0.
 */
export interface AcquireCommand {
  type: "acquire";
  key: string;
  value: string;
  ttlMs: number;
  /** 0: do not queue. > 0: queue; the waiter's lease is min(waitMs, ttlMs) from this entry. */
  waitMs: number;
  /** After an involuntary loss (expiry) the key stays unavailable this long; 0 = off. */
  lockDelayMs: number;
  /** Opaque to the state machine; handed back when a queued waiter is granted. */
  requestId: number;
  /**
   * Set on the leader's keepalive of a long wait: renew a wait (or a grant) that `value` still
   * has, and never start one. Without it a keepalive proposed just before the wait ended (and
   * was answered "busy") would queue the value again, and a later release would grant the lock
   * to a client that had been told it did not get it.
   */
  renewOnly?: true;
}

/** Extend the grant `token` held by `value`; ttlMs becomes the lease length from now on. */
export interface RefreshCommand {
  type: "refresh";
  key: string;
  value: string;
  token: number;
  ttlMs: number;
}

/** End the grant `token` held by `value`. token 0 (operators only) = whatever grant value holds. */
export interface ReleaseCommand {
  type: "release";
  key: string;
  value: string;
  token: number;
}

/** Proposed by the leader: end the lease that the entry `leaseRevision` set on grant `token`. */
export interface ExpireCommand {
  type: "expire";
  key: string;
  token: number;
  leaseRevision: number;
}

/** Proposed by the leader: drop the waiter whose lease the entry `waiterRevision` set. */
export interface WaiterExpireCommand {
  type: "waiterExpire";
  key: string;
  value: string;
  waiterRevision: number;
}

/** A client gave up waiting: drop `value` from the key's queue. */
export interface CancelWaitCommand {
  type: "cancelWait";
  key: string;
  value: string;
}

/** Proposed by the leader: the lock delay started by entry `delayRevision` is over. */
export interface ClearDelayCommand {
  type: "clearDelay";
  key: string;
  delayRevision: number;
}

/**
 * Take `count` of the `permits` permits of the semaphore `key` for `value`: granted when the
 * queue is empty and that many are free (token = this entry's index); a same-value retry renews
 * the lease; otherwise LOCK_BUSY, or a place in the FIFO queue when waitMs > 0. `permits` must
 * match the key's while it has holders or waiters. Refresh, release, waiterExpire and cancelWait
 * work on semaphore keys as on locks; permitExpire ends one holder's lease.
 */
export interface SemaphoreAcquireCommand {
  type: "semaphoreAcquire";
  key: string;
  value: string;
  ttlMs: number;
  waitMs: number;
  requestId: number;
  permits: number;
  count: number;
  /** As on AcquireCommand: a leader's keepalive of a long wait never starts one. */
  renewOnly?: true;
}

/**
 * Take the reader-writer lock `key` for `value`: `read` shares the key with other readers, `write`
 * holds it alone (token = this entry's index, greater than every earlier grant's on the key). FIFO
 * fair: an acquire is granted at once only when nobody waits and it fits; a queued writer blocks
 * later readers (no writer starvation) and consecutive queued readers are granted together in
 * one step. A same-value retry in the same mode renews the lease; otherwise LOCK_BUSY, or a place
 * in the queue when waitMs > 0. Refresh, release, waiterExpire and cancelWait work on rw keys as
 * on locks; permitExpire ends one holder's lease.
 */
export interface RwAcquireCommand {
  type: "rwAcquire";
  key: string;
  value: string;
  ttlMs: number;
  waitMs: number;
  requestId: number;
  mode: RwMode;
  /** As on AcquireCommand: a leader's keepalive of a long wait never starts one. */
  renewOnly?: true;
}

/** A reader shares a reader-writer key; a writer holds it alone. */
export type RwMode = "read" | "write";

/** Proposed by the leader: end the lease that entry `leaseRevision` set on `value`'s permits. */
export interface PermitExpireCommand {
  type: "permitExpire";
  key: string;
  value: string;
  token: number;
  leaseRevision: number;
}

/**
 * Proposed by a leader whose configured limits differ from the ones in force: from this entry on,
 * every member enforces `limits` (the key is always "", which no lock key can be). Invalid limits
 * are refused (INVALID_ARGUMENT) and change nothing.
 */
export interface SetLimitsCommand extends TableLimits {
  type: "setLimits";
  key: "";
}

export type LockCommand =
  | AcquireCommand
  | SetLimitsCommand
  | SemaphoreAcquireCommand
  | RwAcquireCommand
  | PermitExpireCommand
  | RefreshCommand
  | ReleaseCommand
  | ExpireCommand
  | WaiterExpireCommand
  | CancelWaitCommand
  | ClearDelayCommand;

export type LockCommandType = LockCommand["type"];

/** The commands only the leader's lease manager proposes (never accepted from clients). */
export type LeaseCommand =
  ExpireCommand | WaiterExpireCommand | ClearDelayCommand | PermitExpireCommand;
