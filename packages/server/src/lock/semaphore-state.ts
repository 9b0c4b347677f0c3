// The table's record of one counting-semaphore key: up to `permits` permits shared by several
// holders, and a FIFO queue. Kept apart from the exclusive lock's KeyState: a key is one kind
// for as long as it has holders or waiters.

/** One holder of `count` permits. At most one per (key, value). */
export interface PermitHolder {
  value: string;
  /** Fencing token: the index of the granting entry (holders granted in one step share it). */
  token: number;
  /** Index of the entry that last set the lease (the grant, a refresh or a same-value acquire). */
  leaseRevision: number;
  ttlMs: number;
  count: number;
}

/** One queued semaphore acquire. At most one per (key, value); never also a holder. */
export interface PermitWaiter {
  value: string;
  /** Index of the entry that queued it: its FIFO identity. */
  waiterId: number;
  /** Index of the entry that last set its queue lease (the enqueue or a keepalive retry). */
  waiterRevision: number;
  ttlMs: number;
  waitMs: number;
  requestId: number;
  count: number;
}

/**
 * Invariants: holders.length > 0 (a key with none is deleted; waiters alone would be granted);
 * the holders' counts sum to `held` ≤ `permits`; the head waiter needs more than permits − held
 * (else it would have been granted); waiters are in waiterId order; values are distinct across
 * holders and waiters. There is no lock delay: a permit that expires is free at once.
 */
export interface SemaphoreState {
  key: string;
  /** N, fixed by the first acquirer while the key has holders or waiters. */
  permits: number;
  held: number;
  holders: PermitHolder[];
  waiters: PermitWaiter[];
}
