// The FIFO queue operations every table shares (exclusive locks and multi-holder keys): a queue
// is an array of QueuedAcquire in waiterId order, at most one entry per value.
import type { QueuedAcquire } from "./key-state.js";

/** What an acquire names that a waiter keeps. */
interface WaitFields {
  value: string;
  ttlMs: number;
  waitMs: number;
  requestId: number;
}

export function findWaiter(waiters: readonly QueuedAcquire[], value: string): number {
  for (let i = 0; i < waiters.length; i++) if (waiters[i]!.value === value) return i;
  return -1;
}

/** A new waiter queued by the entry `index` (its FIFO identity and first queue lease). */
export function newWaiter(index: number, c: WaitFields): QueuedAcquire {
  return {
    value: c.value,
    waiterId: index,
    waiterRevision: index,
    ttlMs: c.ttlMs,
    waitMs: c.waitMs,
    requestId: c.requestId,
  };
}

/** A queued value's retry keeps its place and renews its queue lease from the entry `index`. */
export function renewWaiter(waiter: QueuedAcquire, index: number, c: WaitFields): void {
  waiter.waiterRevision = index;
  waiter.ttlMs = c.ttlMs;
  waiter.waitMs = c.waitMs;
  waiter.requestId = c.requestId;
}

/**
 * Removes `value`'s waiter when its queue lease is still the one `waiterRevision` names (any, for
 * null); returns it, or undefined when there is no such waiter (a stale expiry or cancel).
 */
export function takeWaiter<W extends QueuedAcquire>(
  waiters: W[],
  value: string,
  waiterRevision: number | null,
): W | undefined {
  const position = findWaiter(waiters, value);
  if (position < 0) return undefined;
  if (waiterRevision !== null && waiters[position]!.waiterRevision !== waiterRevision)
    return undefined;
  return waiters.splice(position, 1)[0];
}
