// The results both tables (exclusive locks and multi-holder keys) build the same way, in one place so
// that a field added to a result type is set for every primitive.
import type { QueuedAcquire } from "./key-state.js";
import { waiterLeaseMs } from "./key-state.js";
import type { LeaseCommand } from "./commands.js";
import type { LockResult, RejectedResult, WaiterGrant } from "./results.js";

/** What an acquire of either kind names. */
interface AcquireFields {
  key: string;
  value: string;
  ttlMs: number;
  requestId: number;
}

/** A command field is out of range: `field` names it. */
export function invalidArgument(key: string, field: string, message: string): RejectedResult {
  return { type: "rejected", code: "INVALID_ARGUMENT", key, field, message };
}

/** A well-formed command refused by the table's state or limits (no field is at fault). */
export function refusedResult(
  key: string,
  code: RejectedResult["code"],
  message: string,
): RejectedResult {
  return { type: "rejected", code, key, field: null, message };
}

/** The table already has `locksMax` keys. */
export function locksFullResult(key: string, locksMax: number): RejectedResult {
  return refusedResult(key, "LOCKS_FULL", `the lock table is full (${locksMax} keys)`);
}

/** The key's queue already has `waitersPerKeyMax` waiters. */
export function waitersFullResult(key: string, waitersPerKeyMax: number): RejectedResult {
  return refusedResult(key, "WAITERS_FULL", `the key already has ${waitersPerKeyMax} waiters`);
}

/** A grant (or a renewal of one) by the acquire `c`; `permit` marks a semaphore's. */
export function grantedResult(
  c: AcquireFields,
  token: number,
  leaseRevision: number,
  renewed: boolean,
  permit?: true,
): LockResult {
  return {
    type: "granted",
    key: c.key,
    value: c.value,
    token,
    leaseRevision,
    ttlMs: c.ttlMs,
    requestId: c.requestId,
    renewed,
    ...(permit === undefined ? {} : { permit }),
  };
}

/** The refresh `c` set a new lease on grant `token` at entry `index`; `permit`: a holder's of several. */
export function refreshedResult(
  c: { key: string; value: string; ttlMs: number },
  token: number,
  index: number,
  permit?: true,
): LockResult {
  const result: LockResult = {
    type: "refreshed",
    key: c.key,
    value: c.value,
    token,
    leaseRevision: index,
    ttlMs: c.ttlMs,
  };
  if (permit !== undefined) result.permit = permit;
  return result;
}

/** The acquire `c` waits at `position` of the key's queue (joined now, or a keepalive). */
export function queuedResult(
  c: AcquireFields,
  waiter: Pick<QueuedAcquire, "waiterId" | "waiterRevision" | "waitMs" | "ttlMs">,
  position: number,
): LockResult {
  return {
    type: "queued",
    key: c.key,
    value: c.value,
    waiterRevision: waiter.waiterRevision,
    waiterLeaseMs: waiterLeaseMs(waiter),
    position,
    requestId: c.requestId,
    joined: waiter.waiterId === waiter.waiterRevision,
  };
}

/** An acquire without a wait found the key taken (`dequeued`: it also left the queue). */
export function busyResult(
  key: string,
  value: string,
  dequeued: boolean,
  inLockDelay: boolean,
  grants?: WaiterGrant[],
): LockResult {
  const result: LockResult = { type: "busy", code: "LOCK_BUSY", key, value, dequeued, inLockDelay };
  if (grants !== undefined) result.grants = grants;
  return result;
}

/** A waiter left the queue without a grant; `grants`: the waiters behind it granted now. */
export function waiterRemovedResult(
  key: string,
  value: string,
  waiterRevision: number,
  reason: "expired" | "cancelled",
  grants?: WaiterGrant[],
): LockResult {
  const result: LockResult = { type: "waiterRemoved", key, value, waiterRevision, reason };
  if (grants !== undefined) result.grants = grants;
  return result;
}

/** A lease command naming a lease, waiter or delay that no longer exists in that form. */
export function staleResult(command: LeaseCommand): LockResult {
  return { type: "stale", key: command.key, command };
}

/** The grant of a queued waiter in the step `index` (its token and first lease revision). */
export function waiterGrant(
  waiter: Pick<QueuedAcquire, "value" | "ttlMs" | "waitMs" | "requestId" | "waiterRevision">,
  index: number,
): WaiterGrant {
  return {
    value: waiter.value,
    token: index,
    leaseRevision: index,
    ttlMs: waiter.ttlMs,
    requestId: waiter.requestId,
    waiterRevision: waiter.waiterRevision,
    waiterLeaseMs: waiterLeaseMs(waiter),
  };
}
