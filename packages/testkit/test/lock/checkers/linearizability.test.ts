import { describe, expect, it } from "vitest";
import type { SequentialModel, TimedOp } from "../../../src/checkers/lock/linearizability.js";
import {
  checkLinearizable,
  describeViolation,
} from "../../../src/checkers/lock/linearizability.js";

// The generic checker on the textbook example: a register with write(v) and read() → v.
type RegisterOp = { kind: "write"; value: number } | { kind: "read"; value: number };

const register: SequentialModel<number, RegisterOp> = {
  init: () => 0,
  step: (state, op) => (op.kind === "write" ? op.value : op.value === state ? state : null),
  key: (state) => String(state),
  describe: (op) => `${op.kind} ${op.value}`,
};

const op = (
  kind: RegisterOp["kind"],
  value: number,
  callMs: number,
  returnMs: number,
): TimedOp<RegisterOp> => ({ op: { kind, value }, callMs, returnMs });

const budget = { stepBudget: 100_000 };

describe("linearizability (Wing–Gong / Lowe)", () => {
  it("accepts concurrent operations in an order that explains every result", () => {
    const history = [
      op("write", 1, 0, 10),
      op("write", 2, 5, 15),
      // Concurrent with both writes: may see either.
      op("read", 1, 6, 20),
      op("read", 2, 21, 30),
    ];
    expect(checkLinearizable(register, history, budget).outcome).toBe("ok");
  });

  it("finds a stale read and reports the longest linearizable prefix", () => {
    const history = [op("write", 1, 0, 10), op("write", 2, 20, 30), op("read", 1, 40, 50)];
    const result = checkLinearizable(register, history, budget);
    expect(result.outcome).toBe("violation");
    if (result.outcome !== "violation") return;
    expect(result.longestPrefix.map((timed) => timed.op)).toEqual([
      { kind: "write", value: 1 },
      { kind: "write", value: 2 },
    ]);
    expect(result.stuck.map((timed) => timed.op)).toEqual([{ kind: "read", value: 1 }]);
    expect(describeViolation(register, result)).toMatch(
      /longest linearizable prefix: 2 operations[\s\S]*write 2[\s\S]*none of these can come next:\n {2}\[40\.000, 50\.000\] read 1/,
    );
  });

  it("lets an operation of unknown outcome take effect late, or not at all", () => {
    // The write of 3 was never answered: the read at 40 may see it.
    const seen = [op("write", 1, 0, 10), op("write", 3, 12, Infinity), op("read", 3, 40, 50)];
    expect(checkLinearizable(register, seen, budget).outcome).toBe("ok");
    // ... but not before it was called.
    const early = [op("write", 1, 0, 10), op("read", 3, 11, 12), op("write", 3, 20, Infinity)];
    expect(checkLinearizable(register, early, budget).outcome).toBe("violation");
  });

  it("gives up with unknown when the step budget runs out", () => {
    const history = Array.from({ length: 30 }, (_, i) => op("write", i, 0, 100));
    history.push(op("read", 999, 200, 300));
    expect(checkLinearizable(register, history, { stepBudget: 50 }).outcome).toBe("unknown");
  });
});
