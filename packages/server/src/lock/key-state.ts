/** What every queued acquire records, whichever table it waits in. At most one per (key, value). */
export interface QueuedAcquire {
  value: string;
  /** Index of the entry that queued it: its FIFO identity. */
  waiterId: number;
  /** Index of the entry that last set its queue lease (the enqueue or a keepalive retry). */
  waiterRevision: number;
  ttlMs: number;
  waitMs: number;
  requestId: number;
}

/** One queued acquire of an exclusive lock. */
export interface Waiter extends QueuedAcquire {
  lockDelayMs: number;
}

/**
 * The table's record of one key. A key exists while it has a holder, waiters or a running lock
 * delay, and is deleted as soon as it has none of them.
 * Invariants: holder === null ⇔ token === 0 (then leaseRevision, ttlMs, lockDelayMs are 0);
 * delayRevision > 0 ⇒ holder === null; waiters.length > 0 ⇒ holder !== null || delayRevision > 0;
 * waiters are in waiterId order and their values are distinct and differ from the holder.
 */
export interface KeyState {
  key: string;
  holder: string | null;
  /** Fencing token of the current grant: the index of the granting entry. */
  token: number;
  /** Index of the entry that last set the lease (the grant, a refresh or a same-value acquire). */
  leaseRevision: number;
  ttlMs: number;
  /** Lock delay to apply if this grant ends by expiry. */
  lockDelayMs: number;
  /** Index of the expire entry that started the running lock delay; 0 = none. */
  delayRevision: number;
  /** Length of the running lock delay. */
  delayMs: number;
  waiters: Waiter[];
}

/** The queue lease of a waiter: a waiter shows life at least once per TTL, like a holder. */
export function waiterLeaseMs(waiter: Pick<QueuedAcquire, "waitMs" | "ttlMs">): number {
  return waiter.waitMs < waiter.ttlMs ? waiter.waitMs : waiter.ttlMs;
}

/** A free key's record with every number 0: a state to decode into (it breaks the invariants). */
export function emptyKeyState(): KeyState {
  return {
    key: "",
    holder: null,
    token: 0,
    leaseRevision: 0,
    ttlMs: 0,
    lockDelayMs: 0,
    delayRevision: 0,
    delayMs: 0,
    waiters: [],
  };
}
