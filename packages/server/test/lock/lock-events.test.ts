import { describe, expect, it } from "vitest";
import { lockEventsOf } from "@dlock/server/lock";
import type { LockResult } from "@dlock/server/lock";
import { Log } from "./helpers.js";

/** Applies through `log` and returns the events of that one entry. */
function eventsOf(log: Log, apply: (log: Log) => LockResult): unknown[] {
  const result = apply(log);
  return lockEventsOf(log.index, result).map(({ revision, ...rest }) => {
    expect(revision).toBe(log.index);
    return rest;
  });
}

describe("lock events", () => {
  it("a grant, a renewal, a queue, a handoff on release", () => {
    const log = new Log();
    expect(eventsOf(log, (l) => l.acquire("k", "a"))).toEqual([
      { type: "granted", key: "k", value: "a", token: 1 },
    ]);
    // The holder's retried acquire and a refresh renew the lease: not a change of the key.
    expect(eventsOf(log, (l) => l.acquire("k", "a"))).toEqual([]);
    expect(eventsOf(log, (l) => l.refresh("k", "a", 1))).toEqual([]);
    expect(eventsOf(log, (l) => l.acquire("k", "b", { waitMs: 5000 }))).toEqual([
      { type: "queued", key: "k", value: "b", token: 0 },
    ]);
    // A queued value's keepalive keeps its place: no second "queued".
    expect(eventsOf(log, (l) => l.acquire("k", "b", { waitMs: 5000 }))).toEqual([]);
    expect(eventsOf(log, (l) => l.acquire("k", "c"))).toEqual([]);
    expect(eventsOf(log, (l) => l.release("k", "a", 1))).toEqual([
      { type: "released", key: "k", value: "a", token: 1 },
      { type: "granted", key: "k", value: "b", token: 7 },
    ]);
    expect(eventsOf(log, (l) => l.release("k", "a", 1))).toEqual([]);
  });

  it("expiry, lock delay and its end, waiters leaving", () => {
    const log = new Log();
    log.acquire("k", "a", { lockDelayMs: 100 });
    expect(eventsOf(log, (l) => l.expire("k", 1, 1))).toEqual([
      { type: "expired", key: "k", value: "a", token: 1 },
    ]);
    expect(eventsOf(log, (l) => l.clearDelay("k", 2))).toEqual([
      { type: "delayEnded", key: "k", value: null, token: 0 },
    ]);
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 });
    log.acquire("k", "c", { waitMs: 5000 });
    log.acquire("k", "d", { waitMs: 5000 });
    expect(eventsOf(log, (l) => l.cancelWait("k", "b"))).toEqual([
      { type: "dequeued", key: "k", value: "b", token: 0, reason: "cancelled" },
    ]);
    expect(eventsOf(log, (l) => l.waiterExpire("k", "c", 6))).toEqual([
      { type: "dequeued", key: "k", value: "c", token: 0, reason: "expired" },
    ]);
    expect(eventsOf(log, (l) => l.acquire("k", "d", { waitMs: 0 }))).toEqual([
      { type: "dequeued", key: "k", value: "d", token: 0, reason: "left" },
    ]);
    expect(eventsOf(log, (l) => l.expire("k", 4, 4))).toEqual([
      { type: "expired", key: "k", value: "a", token: 4 },
    ]);
  });

  it("an expiry hands the key to the head waiter in the same revision", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 });
    expect(eventsOf(log, (l) => l.expire("k", 1, 1))).toEqual([
      { type: "expired", key: "k", value: "a", token: 1 },
      { type: "granted", key: "k", value: "b", token: 3 },
    ]);
  });

  it("refused and stale entries change nothing and yield nothing", () => {
    const log = new Log();
    expect(eventsOf(log, (l) => l.acquire("", "a"))).toEqual([]);
    expect(eventsOf(log, (l) => l.expire("k", 1, 1))).toEqual([]);
    expect(eventsOf(log, (l) => l.cancelWait("k", "a"))).toEqual([]);
  });

  it("a semaphore release that hands its permits to two waiters grants both, after the release", () => {
    const log = new Log();
    const take =
      (value: string, count: number, waitMs = 0) =>
      (l: Log) =>
        l.machine.apply(++l.index, {
          type: "semaphoreAcquire",
          key: "s",
          value,
          ttlMs: 1000,
          waitMs,
          requestId: l.index,
          permits: 2,
          count,
        });
    // Each event says the semaphore's N and the share of the value it concerns.
    const n = { permits: 2 };
    expect(eventsOf(log, take("a", 2))).toEqual([
      { type: "granted", key: "s", value: "a", token: 1, ...n, count: 2 },
    ]);
    expect(eventsOf(log, take("b", 1, 5000))).toEqual([
      { type: "queued", key: "s", value: "b", token: 0, ...n, count: 1 },
    ]);
    expect(eventsOf(log, take("c", 1, 5000))).toEqual([
      { type: "queued", key: "s", value: "c", token: 0, ...n, count: 1 },
    ]);
    expect(eventsOf(log, (l) => l.release("s", "a", 1))).toEqual([
      { type: "released", key: "s", value: "a", token: 1, ...n, count: 2 },
      { type: "granted", key: "s", value: "b", token: 4, ...n, count: 1 },
      { type: "granted", key: "s", value: "c", token: 4, ...n, count: 1 },
    ]);
    expect(eventsOf(log, take("d", 2, 5000))).toEqual([
      { type: "queued", key: "s", value: "d", token: 0, ...n, count: 2 },
    ]);
    expect(eventsOf(log, (l) => l.cancelWait("s", "d"))).toEqual([
      { type: "dequeued", key: "s", value: "d", token: 0, reason: "cancelled", ...n, count: 2 },
    ]);
  });

  it("a reader-writer key's events say whether the value concerned reads or writes", () => {
    const log = new Log();
    const rw =
      (value: string, mode: "read" | "write", waitMs = 0) =>
      (l: Log) =>
        l.machine.apply(++l.index, {
          type: "rwAcquire",
          key: "r",
          value,
          ttlMs: 1000,
          waitMs,
          requestId: l.index,
          mode,
        });
    expect(eventsOf(log, rw("w", "write"))).toEqual([
      { type: "granted", key: "r", value: "w", token: 1, mode: "write" },
    ]);
    expect(eventsOf(log, rw("r1", "read", 5000))).toEqual([
      { type: "queued", key: "r", value: "r1", token: 0, mode: "read" },
    ]);
    expect(eventsOf(log, rw("r2", "read", 5000))).toEqual([
      { type: "queued", key: "r", value: "r2", token: 0, mode: "read" },
    ]);
    expect(eventsOf(log, rw("w2", "write", 5000))).toEqual([
      { type: "queued", key: "r", value: "w2", token: 0, mode: "write" },
    ]);
    expect(eventsOf(log, (l) => l.release("r", "w", 1))).toEqual([
      { type: "released", key: "r", value: "w", token: 1, mode: "write" },
      { type: "granted", key: "r", value: "r1", token: 5, mode: "read" },
      { type: "granted", key: "r", value: "r2", token: 5, mode: "read" },
    ]);
    expect(eventsOf(log, (l) => l.release("r", "r1", 5))).toEqual([
      { type: "released", key: "r", value: "r1", token: 5, mode: "read" },
    ]);
    expect(eventsOf(log, (l) => l.release("r", "r2", 5))).toEqual([
      { type: "released", key: "r", value: "r2", token: 5, mode: "read" },
      { type: "granted", key: "r", value: "w2", token: 7, mode: "write" },
    ]);
  });

  it("a plain lock's events carry no mode and no permits", () => {
    const log = new Log();
    const [granted] = lockEventsOf(1, log.acquire("k", "a"));
    expect(granted).toEqual({ revision: 1, type: "granted", key: "k", value: "a", token: 1 });
  });
});
