import { describe, expect, it } from "vitest";
import { checkLockLinearizability, lockOpOf } from "../../../src/checkers/lock/lock-model.js";
import { committed, wireOp } from "./helpers.js";

const STEPS = 100_000;

const acquire = (value: string) => ({
  type: "acquire" as const,
  value,
  ttlMs: 1000,
  requestId: "r",
});
const release = (value: string, token: number) => ({ type: "release" as const, value, token });
const refresh = (value: string, token: number) => ({
  type: "refresh" as const,
  value,
  token,
  ttlMs: 1000,
});
const get = { type: "get" as const };

describe("lock model: linearizability of one key", () => {
  it("accepts grants, busy answers, reads and a release in a consistent order", () => {
    const ops = [
      wireOp("a", acquire("a1"), 0, { returnMs: 10, result: { fencingToken: 3, ttlMs: 1000 } }),
      wireOp("b", acquire("b1"), 5, { returnMs: 12, error: "LOCK_BUSY" }),
      wireOp("c", get, 13, {
        returnMs: 15,
        result: { held: true, value: "a1", fencingToken: 3, waiters: 0 },
      }),
      wireOp("a", release("a1", 3), 20, { returnMs: 25, result: { released: true } }),
      wireOp("b", acquire("b1"), 30, { returnMs: 35, result: { fencingToken: 7, ttlMs: 1000 } }),
      wireOp("a", release("a1", 3), 40, { returnMs: 45, result: { released: false } }),
    ];
    const report = checkLockLinearizability(ops, [], STEPS);
    expect(report.violation).toBeNull();
    expect(report.operations).toBe(6);
  });

  it("finds a read served from a stale state (a leader without ReadIndex)", () => {
    const ops = [
      wireOp("a", acquire("a1"), 0, { returnMs: 10, result: { fencingToken: 3, ttlMs: 1000 } }),
      wireOp("a", release("a1", 3), 20, { returnMs: 25, result: { released: true } }),
      wireOp("b", acquire("b1"), 30, { returnMs: 35, result: { fencingToken: 7, ttlMs: 1000 } }),
      // Called after b's grant completed, yet it reports a's grant.
      wireOp("c", get, 40, {
        returnMs: 41,
        result: { held: true, value: "a1", fencingToken: 3, waiters: 0 },
      }),
    ];
    const report = checkLockLinearizability(ops, [], STEPS);
    expect(report.violation?.property).toBe("linearizability");
    // Refuted before any search: b's grant of token 7 returned before the read of token 3 began.
    expect(report.violation?.message).toMatch(
      /needs a newer grant:\n {2}\[30\.000, 35\.000\] acquire by b1 → granted token 7\n/,
    );
    expect(report.violation?.message).toMatch(
      /called after it returned:\n.*get → held by a1, token 3/,
    );
    expect(report.steps).toBe(0);
  });

  it("explains a busy answer by an acquire whose answer was lost", () => {
    const ops = [
      // a's acquire took effect but its answer never came back; the committed expire names it.
      wireOp("a", acquire("a1"), 0, null),
      wireOp("b", acquire("b1"), 10, { returnMs: 12, error: "LOCK_BUSY" }),
      wireOp("b", acquire("b1"), 50, { returnMs: 55, result: { fencingToken: 9, ttlMs: 1000 } }),
    ];
    const expire = committed(
      8,
      {
        type: "expired",
        key: "k",
        value: "a1",
        token: 4,
        delayRevision: 0,
        lockDelayMs: 0,
        next: null,
      },
      40,
    );
    expect(checkLockLinearizability(ops, [expire], STEPS).violation).toBeNull();
    // Without the lost acquire nothing can explain the busy answer.
    expect(checkLockLinearizability(ops.slice(1), [], STEPS).violation).not.toBeNull();
  });

  it("finds a token that goes backwards", () => {
    const ops = [
      wireOp("a", acquire("a1"), 0, { returnMs: 10, result: { fencingToken: 8, ttlMs: 1000 } }),
      wireOp("a", release("a1", 8), 20, { returnMs: 25, result: { released: true } }),
      wireOp("b", acquire("b1"), 30, { returnMs: 35, result: { fencingToken: 5, ttlMs: 1000 } }),
    ];
    expect(checkLockLinearizability(ops, [], STEPS).violation?.message).toMatch(
      /acquire by b1 → granted token 5/,
    );
  });

  it("finds a refresh that succeeded after the grant had expired", () => {
    const ops = [
      wireOp("a", acquire("a1"), 0, { returnMs: 10, result: { fencingToken: 3, ttlMs: 1000 } }),
      wireOp("a", refresh("a1", 3), 60, { returnMs: 70, result: { ttlMs: 1000 } }),
    ];
    const expire = committed(
      5,
      {
        type: "expired",
        key: "k",
        value: "a1",
        token: 3,
        delayRevision: 0,
        lockDelayMs: 0,
        next: null,
      },
      50,
    );
    expect(checkLockLinearizability(ops, [expire], STEPS).violation?.property).toBe(
      "linearizability",
    );
    // A refresh answered NOT_OWNER there is fine.
    const refused = [
      ops[0],
      wireOp("a", refresh("a1", 3), 60, { returnMs: 70, error: "NOT_OWNER" }),
    ];
    expect(checkLockLinearizability(refused, [expire], STEPS).violation).toBeNull();
  });

  it("treats NOT_LEADER and timeouts as unknown, LOCK_BUSY and NOT_OWNER as answers", () => {
    const unknown = lockOpOf(wireOp("a", acquire("a1"), 0, { returnMs: 1, error: "NOT_LEADER" }));
    expect(unknown).toEqual({ kind: "acquire", value: "a1", outcome: "unknown" });
    // ... unless the node says it never applied the request (refused before proposing).
    const notApplied = { returnMs: 1, error: "NOT_LEADER", notApplied: true };
    expect(lockOpOf(wireOp("a", acquire("a1"), 0, notApplied))).toBeNull();
    expect(lockOpOf(wireOp("a", release("a1", 3), 0, notApplied))).toBeNull();
    const busy = lockOpOf(wireOp("a", acquire("a1"), 0, { returnMs: 1, error: "LOCK_BUSY" }));
    expect(busy).toEqual({ kind: "acquire", value: "a1", outcome: "busy" });
    // A refresh of unknown outcome cannot change the holder: it is left out.
    expect(lockOpOf(wireOp("a", refresh("a1", 3), 0, null))).toBeNull();
    expect(lockOpOf(wireOp("a", refresh("a1", 3), 0, { returnMs: 1, error: "NOT_OWNER" }))).toEqual(
      { kind: "refresh", value: "a1", token: 3, outcome: "notOwner" },
    );
  });
});
