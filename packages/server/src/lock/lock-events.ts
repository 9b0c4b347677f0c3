import type { WatchEvent, WatchEventType } from "@dlock/protocol";
import type { LockResult, SlotsShare } from "./results.js";
import { permitGrantsOf } from "./results.js";

/**
 * What happened to a key, as a watcher sees it:
 * - `granted`: `value` now holds the key with fencing token `token` (a new grant, never a renewal).
 * - `released`: the grant `token` held by `value` was released by its holder.
 * - `expired`: the lease of grant `token` held by `value` ran out.
 * - `queued`: `value` joined the key's wait queue (keepalives of a wait are not events).
 * - `dequeued`: `value` left the queue without a grant (`reason`: expired, cancelled or left).
 * - `delayEnded`: the key's lock delay ended and nobody was waiting: the key is free.
 *
 * The events of a reader-writer key carry the `mode` of the value concerned; those of a semaphore
 * its N (`permits`) and the value's share (`count`).
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
    events.push(
      shared(event(revision, "granted", result.key, grant.value, grant.token), result, grant.count),
    );
  return events;
}

/** Gives `e` the share of a semaphore's or rw key's value (see SlotsShare); others unchanged. */
function shared(e: LockEvent, result: LockResult, count: number | undefined): LockEvent {
  const permits = "permits" in result ? result.permits : undefined;
  if (permits === undefined || count === undefined) return e;
  if ("rw" in result && result.rw === true) e.mode = count === permits ? "write" : "read";
  else {
    e.permits = permits;
    e.count = count;
  }
  return e;
}

function keyEventsOf(revision: number, result: LockResult): LockEvent[] {
  switch (result.type) {
    case "granted":
      return result.renewed
        ? []
        : [own(event(revision, "granted", result.key, result.value, result.token), result)];
    case "queued":
      return result.joined
        ? [own(event(revision, "queued", result.key, result.value, 0), result)]
        : [];
    case "busy":
      return result.dequeued
        ? [own(dequeued(revision, result.key, result.value, "left"), result)]
        : [];
    case "released":
    case "expired": {
      const out = [
        own(event(revision, result.type, result.key, result.value, result.token), result),
      ];
      if (result.next !== null)
        out.push(event(revision, "granted", result.key, result.next.value, result.next.token));
      return out;
    }
    case "delayCleared":
      return result.next === null
        ? [event(revision, "delayEnded", result.key, null, 0)]
        : [event(revision, "granted", result.key, result.next.value, result.next.token)];
    case "waiterRemoved":
      return [own(dequeued(revision, result.key, result.value, result.reason), result)];
    default:
      return [];
  }
}

/** The event of the value `result` itself concerns. */
function own(e: LockEvent, result: LockResult & SlotsShare): LockEvent {
  return shared(e, result, result.count);
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
