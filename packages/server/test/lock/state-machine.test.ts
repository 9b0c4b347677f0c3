import { describe, expect, it } from "vitest";
import { LockError, LockInvariantError, LockStateMachine, encodeCommand } from "@dlock/server/lock";
import { ConfigError } from "@dlock/protocol";
import { Log, TEST_LIMITS } from "./helpers.js";

describe("acquire", () => {
  it("grants a free key with the entry's index as fencing token", () => {
    const log = new Log();
    log.index = 41;
    expect(log.acquire("k", "a")).toMatchObject({
      type: "granted",
      token: 42,
      leaseRevision: 42,
      renewed: false,
    });
    expect(log.machine.get("k")).toEqual({
      key: "k",
      held: true,
      value: "a",
      fencingToken: 42,
      ttlMs: 1000,
      leaseRevision: 42,
      waiters: 0,
      inLockDelay: false,
    });
  });

  it("re-acquire by the same value succeeds with the same token and refreshes the lease", () => {
    const log = new Log();
    log.acquire("k", "a");
    const again = log.acquire("k", "a", { ttlMs: 2000 });
    expect(again).toMatchObject({
      type: "granted",
      token: 1,
      leaseRevision: 2,
      ttlMs: 2000,
      renewed: true,
    });
    expect(log.machine.get("k")).toMatchObject({ fencingToken: 1, leaseRevision: 2, ttlMs: 2000 });
  });

  it("another value gets LOCK_BUSY without waitMs and changes nothing", () => {
    const log = new Log();
    log.acquire("k", "a");
    const before = log.machine.stateHash();
    expect(log.acquire("k", "b")).toMatchObject({
      type: "busy",
      code: "LOCK_BUSY",
      dequeued: false,
    });
    expect(log.machine.stateHash()).not.toBe(before); // applied index moved...
    expect(log.machine.get("k")).toMatchObject({ value: "a", fencingToken: 1, waiters: 0 });
  });

  it("tokens strictly increase across grants of a key, also after the key was deleted", () => {
    const log = new Log();
    const tokens: number[] = [];
    for (const value of ["a", "b", "c"]) {
      const r = log.acquire("k", value);
      if (r.type !== "granted") throw new Error("expected grant");
      tokens.push(r.token);
      log.acquire("other", value); // unrelated entries in between
      expect(log.release("k", value, r.token)).toMatchObject({ type: "released", next: null });
    }
    expect(tokens).toEqual([1, 4, 7]);
  });
});

describe("refresh and release are scoped to value and token", () => {
  it("refresh with the right value and token extends the lease", () => {
    const log = new Log();
    log.acquire("k", "a");
    expect(log.refresh("k", "a", 1, 3000)).toMatchObject({
      type: "refreshed",
      token: 1,
      leaseRevision: 2,
      ttlMs: 3000,
    });
  });

  it("refresh by another value, or naming another grant, is NOT_OWNER", () => {
    const log = new Log();
    log.acquire("k", "a");
    expect(log.refresh("k", "b", 1)).toMatchObject({ type: "rejected", code: "NOT_OWNER" });
    expect(log.refresh("k", "a", 7)).toMatchObject({ type: "rejected", code: "NOT_OWNER" });
    expect(log.refresh("free", "a", 1)).toMatchObject({ type: "rejected", code: "NOT_OWNER" });
    expect(log.machine.get("k").leaseRevision).toBe(1);
  });

  it("a delayed release of an old grant does not free a newer grant to the same value (etcd #22082)", () => {
    const log = new Log();
    log.acquire("k", "a"); // token 1
    log.release("k", "a", 1);
    log.acquire("k", "a"); // token 3
    expect(log.release("k", "a", 1)).toEqual({ type: "notHeld", key: "k", value: "a", token: 1 });
    expect(log.machine.get("k")).toMatchObject({ held: true, fencingToken: 3 });
  });

  it("release never touches another value's lock; releasing what you do not hold reports notHeld", () => {
    const log = new Log();
    log.acquire("k", "a");
    expect(log.release("k", "b", 1)).toMatchObject({ type: "notHeld" });
    expect(log.release("free", "b", 1)).toMatchObject({ type: "notHeld" });
    expect(log.machine.get("k")).toMatchObject({ held: true, value: "a" });
  });

  it("release with token 0 (operators) releases whatever grant the value holds", () => {
    const log = new Log();
    log.acquire("k", "a");
    expect(log.release("k", "a", 0)).toMatchObject({ type: "released", token: 1 });
    expect(log.machine.get("k").held).toBe(false);
  });
});

describe("expire", () => {
  it("ends exactly the named grant and revision", () => {
    const log = new Log();
    log.acquire("k", "a");
    expect(log.expire("k", 1, 1)).toMatchObject({
      type: "expired",
      value: "a",
      token: 1,
      next: null,
    });
    expect(log.machine.get("k").held).toBe(false);
    expect(log.machine.size).toBe(0);
  });

  it("an expire that races a refresh does nothing (stale)", () => {
    const log = new Log();
    log.acquire("k", "a"); // 1
    log.refresh("k", "a", 1); // revision 2
    expect(log.expire("k", 1, 1)).toMatchObject({ type: "stale", command: { type: "expire" } });
    expect(log.machine.get("k")).toMatchObject({ held: true, leaseRevision: 2 });
    log.acquire("k", "a"); // same-value re-acquire: revision 4
    expect(log.expire("k", 1, 2)).toMatchObject({ type: "stale" });
    expect(log.expire("k", 1, 4)).toMatchObject({ type: "expired" });
  });

  it("an expire of an older grant never ends a newer one", () => {
    const log = new Log();
    log.acquire("k", "a"); // 1
    log.release("k", "a", 1);
    log.acquire("k", "a"); // 3
    expect(log.expire("k", 1, 1)).toMatchObject({ type: "stale" });
    expect(log.machine.get("k").fencingToken).toBe(3);
  });

  it("planted bug expireIgnoresRefresh: the racing expire removes the refreshed lock", () => {
    const log = new Log(TEST_LIMITS, { expireIgnoresRefresh: true });
    log.acquire("k", "a");
    log.refresh("k", "a", 1);
    expect(log.expire("k", 1, 1)).toMatchObject({ type: "expired" });
    expect(log.machine.get("k").held).toBe(false);
  });
});

describe("FIFO waiters", () => {
  it("queues with waitMs > 0 and grants the head in the release step with that entry's index", () => {
    const log = new Log();
    log.acquire("k", "a"); // 1
    expect(log.acquire("k", "b", { waitMs: 5000, requestId: 77 })).toMatchObject({
      type: "queued",
      waiterRevision: 2,
      waiterLeaseMs: 1000,
      position: 0,
    });
    expect(log.acquire("k", "c", { waitMs: 300 })).toMatchObject({
      type: "queued",
      position: 1,
      waiterLeaseMs: 300,
    });
    expect(log.release("k", "a", 1)).toMatchObject({
      type: "released",
      next: {
        value: "b",
        token: 4,
        leaseRevision: 4,
        ttlMs: 1000,
        requestId: 77,
        waiterRevision: 2,
      },
    });
    expect(log.machine.get("k")).toMatchObject({ value: "b", fencingToken: 4, waiters: 1 });
    expect(log.expire("k", 4, 4)).toMatchObject({
      type: "expired",
      next: { value: "c", token: 5 },
    });
    expect(log.release("k", "c", 5)).toMatchObject({ type: "released", next: null });
    expect(log.machine.size).toBe(0);
  });

  it("a queued value's retry keeps its place and renews its queue lease", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 }); // 2
    log.acquire("k", "c", { waitMs: 5000 }); // 3
    expect(log.acquire("k", "b", { waitMs: 4000, requestId: 9 })).toMatchObject({
      type: "queued",
      position: 0,
      waiterRevision: 4,
      requestId: 9,
    });
    expect(log.machine.waiters("k").map((w) => [w.value, w.waiterId, w.waiterRevision])).toEqual([
      ["b", 2, 4],
      ["c", 3, 3],
    ]);
  });

  it("a queued value asking again without waitMs leaves the queue with LOCK_BUSY", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 });
    expect(log.acquire("k", "b")).toMatchObject({ type: "busy", dequeued: true });
    expect(log.machine.get("k").waiters).toBe(0);
  });

  it("waiterExpire removes only the named waiter revision", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 }); // 2
    log.acquire("k", "b", { waitMs: 5000 }); // keepalive: 3
    expect(log.waiterExpire("k", "b", 2)).toMatchObject({ type: "stale" });
    expect(log.waiterExpire("k", "b", 3)).toMatchObject({
      type: "waiterRemoved",
      reason: "expired",
    });
    expect(log.release("k", "a", 1)).toMatchObject({ next: null });
  });

  it("a waiterExpire for a waiter that was granted meanwhile does not touch its lock", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 }); // 2
    log.release("k", "a", 1); // b granted, token 3
    expect(log.waiterExpire("k", "b", 2)).toMatchObject({ type: "stale" });
    expect(log.machine.get("k")).toMatchObject({ value: "b", fencingToken: 3 });
  });

  it("cancelWait removes a waiter; a granted value learns its token instead", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 });
    log.acquire("k", "c", { waitMs: 5000 });
    expect(log.cancelWait("k", "b")).toMatchObject({
      type: "waiterRemoved",
      reason: "cancelled",
      waiterRevision: 2,
    });
    log.release("k", "a", 1); // entry 5: c granted with token 5
    expect(log.cancelWait("k", "c")).toEqual({
      type: "notQueued",
      key: "k",
      value: "c",
      heldToken: 5,
    });
    expect(log.cancelWait("k", "zz")).toMatchObject({ type: "notQueued", heldToken: 0 });
  });

  it("bounded waiters per key: WAITERS_FULL", () => {
    const log = new Log();
    log.acquire("k", "a");
    for (const v of ["b", "c", "d", "e"])
      expect(log.acquire("k", v, { waitMs: 1000 }).type).toBe("queued");
    expect(log.acquire("k", "f", { waitMs: 1000 })).toMatchObject({
      type: "rejected",
      code: "WAITERS_FULL",
    });
  });

  it("the holder re-acquiring with waitMs is a renewal, not a queue entry", () => {
    const log = new Log();
    log.acquire("k", "a");
    expect(log.acquire("k", "a", { waitMs: 1000 })).toMatchObject({
      type: "granted",
      renewed: true,
    });
    expect(log.machine.get("k").waiters).toBe(0);
  });
});

describe("lock delay", () => {
  it("an expiry with lockDelayMs keeps the key unavailable until clearDelay, which grants the head waiter", () => {
    const log = new Log();
    log.acquire("k", "a", { lockDelayMs: 2000 }); // 1
    log.acquire("k", "b", { waitMs: 5000 }); // 2
    expect(log.expire("k", 1, 1)).toMatchObject({
      type: "expired",
      delayRevision: 3,
      lockDelayMs: 2000,
      next: null,
    });
    expect(log.machine.get("k")).toMatchObject({ held: false, inLockDelay: true, waiters: 1 });
    expect(log.acquire("k", "c")).toMatchObject({ type: "busy", inLockDelay: true });
    expect(log.acquire("k", "a")).toMatchObject({ type: "busy" }); // even the former holder
    expect(log.clearDelay("k", 99)).toMatchObject({ type: "stale" });
    expect(log.clearDelay("k", 3)).toMatchObject({
      type: "delayCleared",
      next: { value: "b", token: 7 },
    });
  });

  it("a voluntary release never starts a delay; a delay with no waiters frees the key when cleared", () => {
    const log = new Log();
    log.acquire("k", "a", { lockDelayMs: 2000 });
    log.release("k", "a", 1);
    expect(log.machine.get("k").inLockDelay).toBe(false);
    log.acquire("k", "a", { lockDelayMs: 2000 }); // 3
    log.expire("k", 3, 3); // 4
    expect(log.clearDelay("k", 4)).toMatchObject({ type: "delayCleared", next: null });
    expect(log.machine.size).toBe(0);
    expect(log.acquire("k", "c").type).toBe("granted");
  });
});

describe("limits", () => {
  it("rejects bad sizes and ranges with INVALID_ARGUMENT naming the field", () => {
    const log = new Log();
    expect(log.acquire("", "a")).toMatchObject({ code: "INVALID_ARGUMENT", field: "key" });
    expect(log.acquire("k".repeat(17), "a")).toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "key",
    });
    expect(log.acquire("k", "é".repeat(9))).toMatchObject({
      code: "INVALID_ARGUMENT",
      field: "value",
    });
    expect(log.acquire("k", "é".repeat(8)).type).toBe("granted"); // exactly 16 bytes
    expect(log.acquire("t", "a", { ttlMs: 499 })).toMatchObject({ field: "ttlMs" });
    expect(log.acquire("t", "a", { ttlMs: 60_001 })).toMatchObject({ field: "ttlMs" });
    expect(log.acquire("t", "a", { waitMs: 60_001 })).toMatchObject({ field: "waitMs" });
    expect(log.acquire("t", "a", { lockDelayMs: 5001 })).toMatchObject({ field: "lockDelayMs" });
    expect(log.refresh("k", "é".repeat(8), 5, 100)).toMatchObject({ field: "ttlMs" });
  });

  it("bounded keys: LOCKS_FULL, and a freed key makes room", () => {
    const log = new Log();
    for (let i = 0; i < 8; i++) expect(log.acquire(`k${i}`, "a").type).toBe("granted");
    expect(log.acquire("k8", "a")).toMatchObject({ type: "rejected", code: "LOCKS_FULL" });
    log.release("k0", "a", 1);
    expect(log.acquire("k8", "a").type).toBe("granted");
  });

  it("validate() gives the server the same answer as a typed LockError before proposing", () => {
    const machine = new LockStateMachine({ limits: TEST_LIMITS });
    const error = machine.validate({
      type: "acquire",
      key: "k",
      value: "v",
      ttlMs: 1,
      waitMs: 0,
      lockDelayMs: 0,
      requestId: 1,
    });
    expect(error).toBeInstanceOf(LockError);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", field: "ttlMs" });
    expect(machine.validate({ type: "release", key: "k", value: "v", token: 1 })).toBeNull();
    expect(machine.appliedIndex).toBe(0);
  });

  it("ttlMsMin is a multiple of the election timeout and the limits are validated", () => {
    expect(new LockStateMachine({ limits: { electionTimeoutMs: 300 } }).limits.ttlMsMin).toBe(1500);
    expect(
      () => new LockStateMachine({ limits: { electionTimeoutMs: 300, ttlMsMin: 1000 } }),
    ).toThrow(expect.objectContaining({ name: "ConfigError", option: "ttlMsMin" }));
    expect(() => new LockStateMachine({ limits: { electionTimeoutMs: 0 } })).toThrow(ConfigError);
    expect(
      () => new LockStateMachine({ limits: { electionTimeoutMs: 100, ttlMsMax: 400 } }),
    ).toThrow(expect.objectContaining({ option: "ttlMsMax" }));
  });
});

describe("applied index and entries", () => {
  it("refuses an index that is not after the applied index (host bug)", () => {
    const log = new Log();
    log.acquire("k", "a");
    expect(() => log.machine.apply(1, { type: "release", key: "k", value: "a", token: 1 })).toThrow(
      LockInvariantError,
    );
    log.machine.markApplied(5);
    expect(log.machine.appliedIndex).toBe(5);
  });

  it("applyEntry decodes; malformed data is a MALFORMED result that still advances the index", () => {
    const machine = new LockStateMachine({ limits: TEST_LIMITS });
    expect(machine.applyEntry(1, new Uint8Array([0xc1, 0xff]))).toMatchObject({
      type: "rejected",
      code: "MALFORMED",
    });
    expect(machine.appliedIndex).toBe(1);
    const data = encodeCommand({
      type: "acquire",
      key: "k",
      value: "v",
      ttlMs: 1000,
      waitMs: 0,
      lockDelayMs: 0,
      requestId: 3,
    });
    expect(machine.applyEntry(2, data)).toMatchObject({ type: "granted", token: 2, requestId: 3 });
  });
});

describe("persistence", () => {
  it("takeDirtyKeys lists changed keys once; records round-trip through loadRecords", () => {
    const log = new Log();
    log.acquire("a", "x", { lockDelayMs: 100 });
    log.acquire("a", "y", { waitMs: 900 });
    log.acquire("b", "x");
    log.acquire("c", "x");
    log.release("c", "x", 4);
    expect(log.machine.takeDirtyKeys().sort()).toEqual(["a", "b", "c"]);
    expect(log.machine.takeDirtyKeys()).toEqual([]);
    expect(log.machine.encodeLockRecord("c")).toBeNull();
    const records = ["b", "a"].map((k) => log.machine.encodeLockRecord(k) as Uint8Array);
    const copy = new LockStateMachine({ limits: TEST_LIMITS });
    copy.loadRecords(log.machine.appliedIndex, records);
    expect(copy.stateHash()).toBe(log.machine.stateHash());
    expect(Buffer.from(copy.snapshot())).toEqual(Buffer.from(log.machine.snapshot()));
    expect(copy.waiters("a")).toEqual(log.machine.waiters("a"));
  });

  it("restoreSnapshot rejects garbage and inconsistent tables with MALFORMED", () => {
    const machine = new LockStateMachine({ limits: TEST_LIMITS });
    expect(() => machine.restoreSnapshot(new Uint8Array([1, 2, 3]))).toThrow(
      expect.objectContaining({ code: "MALFORMED" }),
    );
    const log = new Log();
    log.acquire("k", "a");
    const snapshot = log.machine.snapshot();
    // Same bytes but an applied index (0) older than the grant's token.
    const bad = Uint8Array.from(snapshot);
    expect(bad[2]).toBe(1); // [fixarray(3), format 1, appliedIndex 1, ...]
    bad[2] = 0;
    expect(() => machine.restoreSnapshot(bad)).toThrow(
      expect.objectContaining({ code: "MALFORMED" }),
    );
    machine.restoreSnapshot(snapshot);
    expect(machine.get("k")).toEqual(log.machine.get("k"));
  });
});

describe("acquire with renewOnly (the leader's keepalive of a long wait)", () => {
  it("renews a wait the value still has, keeping its place", () => {
    const log = new Log();
    log.acquire("k", "a");
    log.acquire("k", "b", { waitMs: 5000 });
    const renewed = log.acquire("k", "b", { waitMs: 5000, renewOnly: true });
    expect(renewed).toMatchObject({ type: "queued", value: "b", position: 0 });
  });

  it("renews the grant of a value that was granted meanwhile", () => {
    const log = new Log();
    log.acquire("k", "b");
    expect(log.acquire("k", "b", { waitMs: 5000, renewOnly: true })).toMatchObject({
      type: "granted",
      token: 1,
      renewed: true,
    });
  });

  // Seed 838055663: the keepalive was proposed just before the wait expired and applied just
  // after; it queued the value again and the next release granted it to a client told "busy".
  it("does not queue a value whose wait ended, and a release then grants nobody", () => {
    const log = new Log();
    const held = log.acquire("k", "a");
    const queued = log.acquire("k", "b", { waitMs: 5000 });
    expect(queued).toMatchObject({ type: "queued" });
    const revision = (queued as { waiterRevision: number }).waiterRevision;
    expect(log.waiterExpire("k", "b", revision)).toMatchObject({ type: "waiterRemoved" });
    expect(log.acquire("k", "b", { waitMs: 5000, renewOnly: true })).toMatchObject({
      type: "busy",
      dequeued: false,
    });
    const token = (held as { token: number }).token;
    expect(log.release("k", "a", token)).toMatchObject({ type: "released", next: null });
    expect(log.machine.get("k")).toMatchObject({ held: false, waiters: 0 });
  });

  it("does not take a free key", () => {
    const log = new Log();
    expect(log.acquire("k", "b", { waitMs: 5000, renewOnly: true })).toMatchObject({
      type: "busy",
    });
    expect(log.machine.get("k")).toMatchObject({ held: false, waiters: 0 });
  });
});
