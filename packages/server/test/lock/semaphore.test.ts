import { describe, expect, it } from "vitest";
import type { LockCommand, LockResult, SemaphoreAcquireCommand } from "@dlock/server/lock";
import { LeaseManager } from "@dlock/server/lock";
import {
  Log,
  TEST_LIMITS,
  checkRandomRuns,
  pickedPermitExpire,
  pickedWaiterExpire,
} from "./helpers.js";

function semaphore(
  log: Log,
  key: string,
  value: string,
  options: Partial<SemaphoreAcquireCommand> = {},
): LockResult {
  return log.machine.apply(++log.index, {
    type: "semaphoreAcquire",
    key,
    value,
    ttlMs: 1000,
    waitMs: 0,
    requestId: log.index,
    permits: 2,
    count: 1,
    ...options,
  });
}

function permitExpire(log: Log, key: string, value: string, token: number, rev: number) {
  return log.machine.apply(++log.index, {
    type: "permitExpire",
    key,
    value,
    token,
    leaseRevision: rev,
  });
}

describe("semaphore acquire", () => {
  it("grants up to N permits, each holder with its grant's index as token, then busy", () => {
    const log = new Log();
    expect(semaphore(log, "s", "a")).toMatchObject({ type: "granted", token: 1, permit: true });
    expect(semaphore(log, "s", "b")).toMatchObject({ type: "granted", token: 2, permit: true });
    expect(semaphore(log, "s", "c")).toMatchObject({ type: "busy", code: "LOCK_BUSY" });
    expect(log.machine.get("s")).toMatchObject({
      held: true,
      value: null,
      fencingToken: 2,
      semaphore: { permits: 2, held: 2, holders: 2 },
    });
  });

  it("a holder's retry renews its lease with the same token", () => {
    const log = new Log();
    semaphore(log, "s", "a");
    expect(semaphore(log, "s", "a", { ttlMs: 2000 })).toMatchObject({
      type: "granted",
      token: 1,
      leaseRevision: 2,
      ttlMs: 2000,
      renewed: true,
    });
  });

  it("refuses a different N while the key is in use, and accepts any N once it is free", () => {
    const log = new Log();
    semaphore(log, "s", "a");
    expect(semaphore(log, "s", "b", { permits: 3 })).toMatchObject({
      type: "rejected",
      code: "SEMAPHORE_PERMITS_MISMATCH",
    });
    log.machine.apply(++log.index, { type: "release", key: "s", value: "a", token: 1 });
    expect(semaphore(log, "s", "b", { permits: 3 })).toMatchObject({ type: "granted" });
  });

  it("a key is one kind while in use: lock on a semaphore key and vice versa get KIND_MISMATCH", () => {
    const log = new Log();
    semaphore(log, "s", "a");
    expect(log.acquire("s", "b")).toMatchObject({ type: "rejected", code: "KIND_MISMATCH" });
    log.acquire("l", "a");
    expect(semaphore(log, "l", "b")).toMatchObject({ type: "rejected", code: "KIND_MISMATCH" });
  });

  it("rejects permits and count out of range", () => {
    const log = new Log();
    expect(semaphore(log, "s", "a", { permits: 0 })).toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "permits",
    });
    expect(semaphore(log, "s", "a", { permits: 1025 })).toMatchObject({ field: "permits" });
    expect(semaphore(log, "s", "a", { count: 3 })).toMatchObject({ field: "count" });
    expect(log.machine.validate({ ...acquireOf("s"), count: 0 })?.code).toBe("INVALID_ARGUMENT");
  });

  it("FIFO without barging: a waiter needing 2 blocks a later waiter needing 1", () => {
    const log = new Log();
    semaphore(log, "s", "a", { permits: 3 }); // 1
    semaphore(log, "s", "b", { permits: 3 }); // 2: one permit left
    expect(semaphore(log, "s", "c", { permits: 3, count: 2, waitMs: 500 })).toMatchObject({
      type: "queued",
      position: 0,
    });
    // One permit is free, but c is ahead: d queues rather than takes it.
    expect(semaphore(log, "s", "d", { permits: 3, waitMs: 500 })).toMatchObject({
      type: "queued",
      position: 1,
    });
    const released = log.machine.apply(++log.index, {
      type: "release",
      key: "s",
      value: "a",
      token: 1,
    });
    // Two free: c (2) is granted; d then does not fit (3 held).
    expect(released).toMatchObject({ type: "released", permit: true, next: null });
    expect(released.type === "released" && released.grants?.map((g) => g.value)).toEqual(["c"]);
    const expired = permitExpire(log, "s", "b", 2, 2);
    expect(expired.type === "expired" && expired.grants?.map((g) => [g.value, g.token])).toEqual([
      ["d", log.index],
    ]);
    expect(log.machine.get("s").semaphore).toEqual({ permits: 3, held: 3, holders: 2 });
  });

  it("a blocking head that leaves the queue lets the waiters behind it in", () => {
    const log = new Log();
    semaphore(log, "s", "a", { permits: 3 });
    semaphore(log, "s", "c", { permits: 3, count: 3, waitMs: 500 });
    semaphore(log, "s", "d", { permits: 3, waitMs: 500 });
    semaphore(log, "s", "e", { permits: 3, waitMs: 500 });
    const cancelled = log.machine.apply(++log.index, { type: "cancelWait", key: "s", value: "c" });
    expect(cancelled).toMatchObject({ type: "waiterRemoved", reason: "cancelled" });
    expect(cancelled.type === "waiterRemoved" && cancelled.grants?.map((g) => g.value)).toEqual([
      "d",
      "e",
    ]);
  });

  it("refresh, release and expire name one holder; stale ones change nothing", () => {
    const log = new Log();
    semaphore(log, "s", "a"); // 1
    semaphore(log, "s", "b"); // 2
    expect(log.refresh("s", "a", 2)).toMatchObject({ type: "rejected", code: "NOT_OWNER" });
    expect(log.refresh("s", "a", 1)).toMatchObject({
      type: "refreshed",
      leaseRevision: 4,
      permit: true,
    });
    expect(permitExpire(log, "s", "a", 1, 1)).toMatchObject({ type: "stale" });
    expect(log.release("s", "a", 2)).toMatchObject({ type: "notHeld" });
    expect(permitExpire(log, "s", "a", 1, 4)).toMatchObject({ type: "expired", permit: true });
    expect(log.release("s", "b", 0)).toMatchObject({ type: "released", token: 2 });
    expect(log.machine.size).toBe(0);
  });
});

function acquireOf(key: string): SemaphoreAcquireCommand {
  return {
    type: "semaphoreAcquire",
    key,
    value: "v",
    ttlMs: 1000,
    waitMs: 0,
    requestId: 1,
    permits: 2,
    count: 1,
  };
}

describe("semaphore leases", () => {
  it("the leader times each holder apart and proposes permitExpire for the right one", () => {
    const log = new Log();
    const leases = new LeaseManager();
    leases.becomeLeader(0, log.machine);
    leases.onApplied(semaphore(log, "s", "a", { ttlMs: 900 }), 0);
    leases.onApplied(semaphore(log, "s", "b", { ttlMs: 2000 }), 0);
    leases.onApplied(semaphore(log, "s", "c", { waitMs: 5000 }), 0);
    expect(leases.trackedPermits).toBe(2);
    expect(leases.trackedCount.waiters).toBe(1);
    expect(leases.dueExpiries(899)).toEqual([]);
    const due = leases.dueExpiries(900);
    expect(due).toEqual([
      { type: "permitExpire", key: "s", value: "a", token: 1, leaseRevision: 1 },
    ]);
    const expired = log.machine.apply(++log.index, due[0]!);
    leases.onApplied(expired, 900);
    // c was granted by the expiry: a fresh lease of its ttl (1000) from that apply.
    expect(leases.trackedPermits).toBe(2);
    expect(leases.trackedCount.waiters).toBe(0);
    expect(leases.dueExpiries(1899)).toEqual([]);
    expect(leases.dueExpiries(1900).map((c) => c.type === "permitExpire" && c.value)).toEqual([
      "c",
    ]);
    expect(leases.dueExpiries(2000).map((c) => c.type === "permitExpire" && c.value)).toEqual([
      "b",
    ]);
  });

  it("a new leader gives every holder a full TTL from its election", () => {
    const log = new Log();
    semaphore(log, "s", "a", { ttlMs: 1000 });
    semaphore(log, "s", "b", { ttlMs: 1000 });
    const leases = new LeaseManager();
    leases.becomeLeader(5000, log.machine);
    expect(leases.dueExpiries(5999)).toEqual([]);
    expect(leases.dueExpiries(6000)).toHaveLength(2);
  });
});

// ---- randomized: the invariants hold and persistence round-trips ---------------------------

describe("semaphore state machine (randomized)", () => {
  it("never more than N held, FIFO holds, snapshots and records round-trip", () => {
    const options = { limits: TEST_LIMITS, keys: ["s", "t", "l"], kinds: 8 };
    checkRandomRuns("semaphore model", options, (run, op) => {
      const { key, value } = op;
      const permits = op.n === 3 ? 3 : 2;
      const pickToken = run.tokens[op.pick % Math.max(1, run.tokens.length)];
      const acquire = { key, value, ttlMs: 1000, requestId: run.index };
      const commands: LockCommand[] = [
        { ...acquire, type: "semaphoreAcquire", waitMs: 0, permits, count: 1 + (op.n % permits) },
        { ...acquire, type: "semaphoreAcquire", waitMs: 500, permits, count: 1 + (op.n % permits) },
        { ...acquire, type: "acquire", waitMs: 0, lockDelayMs: 0 },
        { type: "release", key, value, token: pickToken?.[2] ?? 0 },
        pickedPermitExpire(run, op),
        pickedWaiterExpire(run, op),
        { type: "cancelWait", key, value },
        {
          type: "refresh",
          key: pickToken?.[0] ?? key,
          value: pickToken?.[1] ?? value,
          token: pickToken?.[2] ?? 1,
          ttlMs: 1000,
        },
      ];
      run.apply(commands[op.kind]!);
      // Invariants of every semaphore key.
      run.machine.forEachSemaphore((s) => {
        const held = s.holders.reduce((sum, h) => sum + h.count, 0);
        expect(held).toBe(s.held);
        expect(held).toBeLessThanOrEqual(s.permits);
        expect(s.holders.length).toBeGreaterThan(0);
        if (s.waiters.length > 0) expect(s.waiters[0]!.count).toBeGreaterThan(s.permits - s.held);
        expect(run.machine.keyState(s.key)).toBeUndefined();
      });
    });
  });
});
