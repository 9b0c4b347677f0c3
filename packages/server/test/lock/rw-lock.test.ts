import { describe, expect, it } from "vitest";
import type { LockCommand, LockResult, RwAcquireCommand } from "@dlock/server/lock";
import { LeaseManager, LockStateMachine, decodeCommand, encodeCommand } from "@dlock/server/lock";
import {
  Log,
  TEST_LIMITS,
  checkRandomRuns,
  pickedPermitExpire,
  pickedWaiterExpire,
} from "./helpers.js";

function rw(
  log: Log,
  key: string,
  value: string,
  mode: "read" | "write",
  options: Partial<RwAcquireCommand> = {},
): LockResult {
  return log.machine.apply(++log.index, {
    type: "rwAcquire",
    key,
    value,
    ttlMs: 1000,
    waitMs: 0,
    requestId: log.index,
    mode,
    ...options,
  });
}

const QUEUE = { waitMs: 5000 } as const;

describe("reader-writer acquire", () => {
  it("readers share the key, each with its grant's index as fencing token; a writer is refused", () => {
    const log = new Log();
    expect(rw(log, "k", "r1", "read")).toMatchObject({ type: "granted", token: 1, rw: true });
    expect(rw(log, "k", "r2", "read")).toMatchObject({ type: "granted", token: 2, rw: true });
    expect(rw(log, "k", "w", "write")).toMatchObject({ type: "busy", code: "LOCK_BUSY" });
    expect(log.machine.get("k")).toMatchObject({
      held: true,
      value: null,
      fencingToken: 2,
      rw: { readers: 2, writer: null },
    });
  });

  it("a writer holds the key alone: readers and other writers are refused", () => {
    const log = new Log();
    expect(rw(log, "k", "w", "write")).toMatchObject({ type: "granted", token: 1, permit: true });
    expect(rw(log, "k", "r", "read")).toMatchObject({ type: "busy" });
    expect(rw(log, "k", "w2", "write")).toMatchObject({ type: "busy" });
    expect(log.machine.get("k")).toMatchObject({ value: "w", rw: { readers: 0, writer: "w" } });
  });

  it("a queued writer blocks later readers, and the readers behind it are granted together", () => {
    const log = new Log();
    rw(log, "k", "r1", "read"); // 1
    expect(rw(log, "k", "w", "write", QUEUE)).toMatchObject({ type: "queued", position: 0 });
    // No barging: a reader that would fit beside r1 queues behind the writer.
    expect(rw(log, "k", "r2", "read", QUEUE)).toMatchObject({ type: "queued", position: 1 });
    expect(rw(log, "k", "r3", "read", QUEUE)).toMatchObject({ type: "queued", position: 2 });
    expect(rw(log, "k", "w2", "write", QUEUE)).toMatchObject({ type: "queued", position: 3 });
    // The queue is bounded by waitersPerKeyMax (4 here).
    expect(rw(log, "k", "r4", "read", QUEUE)).toMatchObject({ code: "WAITERS_FULL" });
    const released = log.machine.apply(++log.index, {
      type: "release",
      key: "k",
      value: "r1",
      token: 1,
    });
    expect(released).toMatchObject({ type: "released", rw: true });
    expect((released as { grants: unknown[] }).grants).toMatchObject([{ value: "w", token: 7 }]);
    const afterWriter = log.machine.apply(++log.index, {
      type: "release",
      key: "k",
      value: "w",
      token: 7,
    });
    // Both readers in one step (one token), and not the writer behind them.
    expect((afterWriter as { grants: unknown[] }).grants).toMatchObject([
      { value: "r2", token: 8 },
      { value: "r3", token: 8 },
    ]);
    expect(log.machine.get("k")).toMatchObject({ rw: { readers: 2 }, waiters: 1 });
  });

  it("a holder's retry in the same mode renews its lease; in the other mode it is refused", () => {
    const log = new Log();
    rw(log, "k", "a", "read");
    expect(rw(log, "k", "a", "read", { ttlMs: 2000 })).toMatchObject({
      type: "granted",
      token: 1,
      leaseRevision: 2,
      renewed: true,
    });
    expect(rw(log, "k", "a", "write")).toMatchObject({
      type: "rejected",
      code: "INVALID_ARGUMENT",
      field: "mode",
    });
  });

  it("refuses a mode other than read or write", () => {
    const log = new Log();
    const bad = { mode: "upgrade" } as unknown as Partial<RwAcquireCommand>;
    expect(rw(log, "k", "a", "read", bad)).toMatchObject({ type: "rejected", field: "mode" });
    expect(log.machine.size).toBe(0);
  });

  it("a key is one kind while in use: lock, semaphore and rw keys refuse each other", () => {
    const log = new Log();
    rw(log, "k", "a", "read");
    expect(log.acquire("k", "b")).toMatchObject({ type: "rejected", code: "KIND_MISMATCH" });
    expect(
      log.machine.apply(++log.index, {
        type: "semaphoreAcquire",
        key: "k",
        value: "b",
        ttlMs: 1000,
        waitMs: 0,
        requestId: 1,
        permits: 2,
        count: 1,
      }),
    ).toMatchObject({ type: "rejected", code: "KIND_MISMATCH" });
    log.acquire("l", "a");
    expect(rw(log, "l", "b", "read")).toMatchObject({ type: "rejected", code: "KIND_MISMATCH" });
  });

  it("holds at most semaphorePermitsMax readers at once; later readers wait", () => {
    const log = new Log({ ...TEST_LIMITS, semaphorePermitsMax: 2 });
    rw(log, "k", "a", "read");
    rw(log, "k", "b", "read");
    expect(rw(log, "k", "c", "read")).toMatchObject({ type: "busy" });
    expect(rw(log, "k", "c", "read", QUEUE)).toMatchObject({ type: "queued" });
  });

  it("an expiring writer hands the key to the queued readers in the same step", () => {
    const log = new Log();
    rw(log, "k", "w", "write"); // 1
    rw(log, "k", "r1", "read", QUEUE);
    rw(log, "k", "r2", "read", QUEUE);
    const expired = log.machine.apply(++log.index, {
      type: "permitExpire",
      key: "k",
      value: "w",
      token: 1,
      leaseRevision: 1,
    });
    expect(expired).toMatchObject({ type: "expired", rw: true, permit: true });
    expect((expired as { grants: unknown[] }).grants).toHaveLength(2);
  });

  it("the planted rwReaderJoinsWriter grants a reader while a writer holds", () => {
    const log = new Log(TEST_LIMITS, { rwReaderJoinsWriter: true });
    rw(log, "k", "w", "write");
    expect(rw(log, "k", "r", "read")).toMatchObject({ type: "granted" });
  });

  it("the command round-trips the log codec, with renewOnly", () => {
    const command: LockCommand = {
      type: "rwAcquire",
      key: "k",
      value: "v",
      ttlMs: 900,
      waitMs: 10,
      requestId: 3,
      mode: "write",
      renewOnly: true,
    };
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });
});

describe("reader-writer leases", () => {
  it("the leader times each holder and ends a writer by permitExpire", () => {
    const log = new Log();
    const leases = new LeaseManager();
    leases.becomeLeader(0, log.machine);
    leases.onApplied(rw(log, "k", "w", "write", { ttlMs: 900 }), 0);
    leases.onApplied(rw(log, "k", "r", "read", QUEUE), 0);
    expect(leases.trackedPermits).toBe(1);
    const due = leases.dueExpiries(900);
    expect(due).toEqual([
      { type: "permitExpire", key: "k", value: "w", token: 1, leaseRevision: 1 },
    ]);
    leases.onApplied(log.machine.apply(++log.index, due[0]!), 900);
    expect(leases.trackedPermits).toBe(1);
    expect(leases.dueExpiries(1899)).toEqual([]);
    expect(leases.dueExpiries(1900)).toMatchObject([{ type: "permitExpire", value: "r" }]);
  });
});

describe("a lower semaphorePermitsMax after a restart", () => {
  it("still loads the keys written under the higher one; new keys get the lower one", () => {
    const log = new Log({ ...TEST_LIMITS, semaphorePermitsMax: 8 });
    rw(log, "rw", "r1", "read");
    log.machine.apply(++log.index, {
      type: "semaphoreAcquire",
      key: "sem",
      value: "s1",
      ttlMs: 1000,
      waitMs: 0,
      requestId: log.index,
      permits: 8,
      count: 3,
    });
    const lowered = new LockStateMachine({ limits: { ...TEST_LIMITS, semaphorePermitsMax: 4 } });
    lowered.restoreSnapshot(log.machine.snapshot());
    expect(lowered.snapshot()).toEqual(log.machine.snapshot());
    expect(lowered.semaphoreState("rw")).toMatchObject({ kind: "rw", permits: 8 });
    expect(lowered.semaphoreState("sem")).toMatchObject({ permits: 8, held: 3 });
    const fresh = lowered.apply(log.index + 1, {
      type: "rwAcquire",
      key: "rw2",
      value: "r",
      ttlMs: 1000,
      waitMs: 0,
      requestId: log.index + 1,
      mode: "read",
    });
    expect(fresh).toMatchObject({ type: "granted" });
    expect(lowered.semaphoreState("rw2")).toMatchObject({ permits: 4 });
  });
});

// ---- randomized: the rw invariants hold and persistence round-trips -------------------------

describe("reader-writer state machine (randomized)", () => {
  it("a writer is alone, grants are FIFO, tokens grow, snapshots and records round-trip", () => {
    const limits = { ...TEST_LIMITS, semaphorePermitsMax: 3 };
    checkRandomRuns("rw model", { limits, keys: ["k", "s", "l"], kinds: 9 }, (run, op) => {
      const { key, value } = op;
      const pickToken = run.tokens[op.pick % Math.max(1, run.tokens.length)];
      const acquire = { key, value, ttlMs: 1000, requestId: run.index };
      const commands: LockCommand[] = [
        { ...acquire, type: "rwAcquire", waitMs: 0, mode: "read" },
        { ...acquire, type: "rwAcquire", waitMs: 500, mode: "read" },
        { ...acquire, type: "rwAcquire", waitMs: 500, mode: "write" },
        { ...acquire, type: "rwAcquire", waitMs: 0, mode: "write" },
        { ...acquire, type: "semaphoreAcquire", waitMs: 0, permits: 2, count: 1 },
        { type: "release", key, value, token: pickToken?.[2] ?? 0 },
        pickedPermitExpire(run, op),
        pickedWaiterExpire(run, op),
        { type: "cancelWait", key, value },
      ];
      run.apply(commands[op.kind]!);
      run.machine.forEachSemaphore((s) => {
        if (s.kind !== "rw") return;
        // A writer never shares the key; readers take one slot each.
        if (s.holders.some((h) => h.count === s.permits)) expect(s.holders).toHaveLength(1);
        for (const h of s.holders) expect([1, s.permits]).toContain(h.count);
        expect(s.held).toBeLessThanOrEqual(s.permits);
        // FIFO: the head waiter does not fit (else it would have been granted).
        if (s.waiters.length > 0) expect(s.waiters[0]!.count).toBeGreaterThan(s.permits - s.held);
      });
    });
  });
});
