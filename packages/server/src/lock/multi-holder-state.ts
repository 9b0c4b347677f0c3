// The table's record of one multi-holder key (a counting semaphore or a reader-writer lock): up
// to `permits` slots shared by several holders, and a FIFO queue. Kept apart from the exclusive
// lock's KeyState: a key is one kind for as long as it has holders or waiters.
import type { QueuedAcquire } from "./key-state.js";

/** One holder of `count` slots. At most one per (key, value). */
export interface PermitHolder {
  value: string;
  /** Fencing token: the index of the granting entry (holders granted in one step share it). */
  token: number;
  /** Index of the entry that last set the lease (the grant, a refresh or a same-value acquire). */
  leaseRevision: number;
  ttlMs: number;
  count: number;
}

/** One queued acquire of `count` slots; never also a holder. */
export interface PermitWaiter extends QueuedAcquire {
  count: number;
}

/**
 * Invariants: holders.length > 0 (a key with none is deleted; waiters alone would be granted);
 * the holders' counts sum to `held` ≤ `permits`; the head waiter needs more than permits − held
 * (else it would have been granted); waiters are in waiterId order; values are distinct across
 * holders and waiters. There is no lock delay: a slot that expires is free at once.
 */
export interface MultiHolderState {
  key: string;
  /**
   * A semaphore's holders take the `count` they ask for. A reader-writer key ("rw") has
   * semaphorePermitsMax slots (its readers max): a reader takes 1 and a writer all of them, so
   * the semaphore's FIFO rule is the rw lock's fairness (a queued writer blocks later readers).
   */
  kind: MultiHolderKind;
  /** N, fixed by the first acquirer while the key has holders or waiters. */
  permits: number;
  held: number;
  holders: PermitHolder[];
  waiters: PermitWaiter[];
}

export type MultiHolderKind = "semaphore" | "rw";

/** Is `holder` the writer of `s`, a reader-writer key (a writer takes every slot, a reader one)? */
export function isRwWriter(s: Readonly<MultiHolderState>, holder: Readonly<PermitHolder>): boolean {
  return s.kind === "rw" && holder.count === s.permits;
}

/** A counting semaphore's record (the only multi-holder kind before reader-writer locks). */
export type SemaphoreState = MultiHolderState;
