import type { WatchEvent, WatchEventType } from "@dlock/protocol";
import type { LockResult } from "./results.js";
import { permitGrantsOf } from "./results.js";

/**
 * What happened to a key, as a watcher sees it:
 * - `granted`: `value` now holds the key with fencing token `token` (a new grant, never a renewal).
 * - `released`: the grant `token` held by `value` was released by its holder.
 * - `expired`: the lease of grant `token` held by `value` ran out.
 * - `queued`: `value` joined the key's wait queue (keepalives of a wait are not events).
 * - `dequeued`: `value` left the queue without a grant (`reason`: expired, cancelled or left).
 * - `delayEnded`: the key's lock delay ended and nobody was waiting: the key is free.
 */
export type LockEventType = WatchEventType;

/**
 * One event of a key. A watcher receives the events as they are (the wire's WatchEvent is this
 * type); several events may share one revision, the Raft index of the entry that caused them.
 */
export type LockEvent = WatchEvent;

/**
 * The events one applied entry caused, derived from its result alone: pure and deterministic,
 * so every member (and the simulator) derives the same events in the same order. Within an entry
 * the order is fixed: the ending of a grant comes before the grant it hands on. Every result
 * type that changes a key must be mapped here; results that change nothing (busy without
 * dequeuing, notHeld, stale, rejected, refreshed, renewed grants) yield none.
 */
export function lockEventsOf(revision: number, result: LockResult): LockEvent[] {
  const events = keyEventsOf(revision, result);
  // A semaphore step may hand permits to several waiters at once: each is granted after the
  // ending (or departure) that freed the permits.
  for (const grant of permitGrantsOf(result))
    events.push(event(revision, "granted", result.key, grant.value, grant.token));
  return events;
}

function keyEventsOf(revision: number, result: LockResult): LockEvent[] {
  switch (result.type) {
    case "granted":
      return result.renewed
        ? []
        : [event(revision, "granted", result.key, result.value, result.token)];
    case "queued":
      return result.joined ? [event(revision, "queued", result.key, result.value, 0)] : [];
    case "busy":
      return result.dequeued ? [dequeued(revision, result.key, result.value, "left")] : [];
    case "released":
    case "expired": {
      const out = [event(revision, result.type, result.key, result.value, result.token)];
      if (result.next !== null)
        out.push(event(revision, "granted", result.key, result.next.value, result.next.token));
      return out;
    }
    case "delayCleared":
      return result.next === null
        ? [event(revision, "delayEnded", result.key, null, 0)]
        : [event(revision, "granted", result.key, result.next.value, result.next.token)];
    case "waiterRemoved":
      return [dequeued(revision, result.key, result.value, result.reason)];
    default:
      return [];
  }
}

function event(
  revision: number,
  type: LockEventType,
  key: string,
  value: string | null,
  token: number,
): LockEvent {
  return { revision, type, key, value, token };
}

function dequeued(
  revision: number,
  key: string,
  value: string,
  reason: "expired" | "cancelled" | "left",
): LockEvent {
  return { revision, type: "dequeued", key, value, token: 0, reason };
}
