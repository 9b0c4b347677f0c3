// The results both tables (exclusive locks and semaphores) build the same way, in one place so
// that a field added to a result type is set for every primitive.
import type { Waiter } from "./key-state.js";
import { waiterLeaseMs } from "./key-state.js";
import type { LockResult, RejectedResult } from "./results.js";

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

/** The acquire `c` waits at `position` of the key's queue (joined now, or a keepalive). */
export function queuedResult(
  c: AcquireFields,
  waiter: Pick<Waiter, "waiterId" | "waiterRevision" | "waitMs" | "ttlMs">,
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
