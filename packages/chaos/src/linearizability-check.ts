// Per-key linearizability of the chaos history, with the simulator's checker and lock model
// (@dlock/testkit). The run sees only what clients saw: lease expiries happen inside the
// cluster, so every grant may expire at any moment after it was made (an operation of unknown
// timing), and a request that failed without a clear answer may or may not have taken effect.
import { checkLinearizable, describeViolation, lockModel } from "@dlock/testkit";
import type { LockModelState, LockOp, SequentialModel, TimedOp } from "@dlock/testkit";
import type { CheckResult } from "./checks.js";
import type { History, OpRecord } from "./history.js";

/** Search steps per key before the key counts as undecided (never as a violation). */
export const STEP_BUDGET_PER_KEY = 5_000_000;

/** An expiry of whatever grant `value` holds: for acquires whose token the client never saw. */
const ANY_TOKEN = -1;

/** The simulator's lock model, plus expiries of a grant whose token is unknown. */
const chaosLockModel: SequentialModel<LockModelState, LockOp> = {
  ...lockModel,
  step(state, op) {
    if (op.kind === "expire" && op.token === ANY_TOKEN) {
      return state.holder === op.value
        ? { holder: null, token: 0, floor: Math.max(state.floor, state.token) }
        : null;
    }
    return lockModel.step(state, op);
  },
};

export interface LinearizabilityCheckResult extends CheckResult {
  undecidedKeys: string[];
}

export function checkLinearizability(
  history: History,
  stepBudget = STEP_BUDGET_PER_KEY,
): LinearizabilityCheckResult {
  const byKey = new Map<string, TimedOp<LockOp>[]>();
  const add = (key: string, op: TimedOp<LockOp>) => {
    let list = byKey.get(key);
    if (list === undefined) {
      list = [];
      byKey.set(key, list);
    }
    list.push(op);
  };
  for (const record of history.ops) {
    const op = lockOpOf(record);
    if (op === null) continue;
    // An operation whose outcome is not known may take effect at any time after its call.
    const indefinite =
      (op.kind === "acquire" && op.outcome === "unknown") ||
      (op.kind === "release" && op.outcome === "unknown");
    const returnMs =
      record.returnMs === null || indefinite ? Number.POSITIVE_INFINITY : record.returnMs;
    add(record.key, { op, callMs: record.callMs, returnMs });
    if (op.kind === "acquire" && op.outcome !== "busy") {
      // The cluster may end this grant (if it was made) by expiry at any time after the call.
      const token = typeof op.outcome === "object" ? op.outcome.token : ANY_TOKEN;
      add(record.key, {
        op: { kind: "expire", value: record.value, token },
        callMs: record.callMs,
        returnMs: Number.POSITIVE_INFINITY,
      });
    }
  }
  const violations: string[] = [];
  const undecidedKeys: string[] = [];
  let examined = 0;
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    examined += ops.length;
    const result = checkLinearizable(chaosLockModel, ops, { stepBudget });
    if (result.outcome === "unknown") undecidedKeys.push(key);
    if (result.outcome === "violation") {
      violations.push(
        `key "${key}" has no linearization\n${describeViolation(chaosLockModel, result)}`,
      );
    }
  }
  return { name: "linearizability per key", violations, examined, undecidedKeys };
}

function lockOpOf(record: OpRecord): LockOp | null {
  const unknown = record.outcome === "error" || record.outcome === "unknown";
  switch (record.kind) {
    case "acquire":
      if (unknown) return { kind: "acquire", value: record.value, outcome: "unknown" };
      if (record.outcome === "busy")
        return { kind: "acquire", value: record.value, outcome: "busy" };
      return { kind: "acquire", value: record.value, outcome: { token: record.token as number } };
    case "release":
      if (record.token === null) return null;
      return {
        kind: "release",
        value: record.value,
        token: record.token,
        // released:false comes with lost:true, and a lost lock's release may have failed
        // without saying so: only "released" is a definite answer.
        outcome: !unknown && record.detail === "released" ? "released" : "unknown",
      };
    case "get": {
      if (unknown) return null; // A read that failed changes nothing.
      if (record.detail === "free") return { kind: "get", held: false, value: null, token: null };
      const at = record.detail.lastIndexOf("@");
      return {
        kind: "get",
        held: true,
        value: record.detail.slice(0, at),
        token: Number(record.detail.slice(at + 1)),
      };
    }
  }
}
