// Per-key linearizability of the chaos history, with the simulator's checker and lock model
// (@dlock/testkit), over every request the clients put on the wire (wire-recorder.ts). Checking
// whole `locker.lock()` calls instead would be wrong: a call that ends LOCK_BUSY may have sent an
// earlier request that was granted, answered into a broken connection, and expired before the
// retry, and that grant is a real state of the key that other clients' answers depend on.
// The run sees only what clients saw: lease expiries happen inside the cluster, so every grant
// may expire at any moment after it was requested (an operation of unknown timing), and a
// request without a clear answer may or may not have taken effect.
import {
  checkLinearizable,
  describeTokenOrderConflict,
  describeViolation,
  lockModel,
  lockOpOf,
  tokenOrderConflict,
} from "@dlock/testkit";
import type { LockModelState, LockOp, SequentialModel, TimedOp, WireOp } from "@dlock/testkit";
import type { CheckResult } from "./checks.js";
import type { History } from "./history.js";

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
  describe(op) {
    if (op.kind === "expire") {
      const token = op.token === ANY_TOKEN ? "an unseen token" : `token ${op.token}`;
      return `expiry of ${token} held by ${op.value} (at any time after its request)`;
    }
    return lockModel.describe(op);
  },
};

export interface LinearizabilityCheckResult extends CheckResult {
  undecidedKeys: string[];
  /** Keys checked, search steps over all of them, and the time the search took. */
  keys: number;
  steps: number;
  searchMs: number;
}

/** Per key, the timed operations of the run's wire history plus the possible expiries. */
export function wireHistoriesByKey(wire: readonly WireOp[]): Map<string, TimedOp<LockOp>[]> {
  const byKey = new Map<string, TimedOp<LockOp>[]>();
  const add = (key: string, op: TimedOp<LockOp>) => {
    let list = byKey.get(key);
    if (list === undefined) byKey.set(key, (list = []));
    list.push(op);
  };
  // A grant that its holder released for sure did not expire first (the release found it held),
  // and cannot expire after: it has no expiry to place. Dropping those keeps the search small:
  // each one is otherwise a choice the search must try and undo at every later step.
  const released = new Set<string>();
  for (const record of wire) {
    const op = lockOpOf(record);
    if (op?.kind === "release" && op.outcome === "released" && op.token !== 0) {
      released.add(grantId(record.key, op.value, op.token));
    }
  }
  // One expiry per grant: an acquire retried on the same grant returns the same token.
  const expiries = new Map<string, TimedOp<LockOp>>();
  for (const record of wire) {
    const op = lockOpOf(record);
    if (op === null) continue;
    // A request whose outcome is not known may take effect at any time after it was sent.
    const indefinite =
      (op.kind === "acquire" && op.outcome === "unknown") ||
      (op.kind === "release" && op.outcome === "unknown");
    const returnMs =
      record.returnMs === null || indefinite ? Number.POSITIVE_INFINITY : record.returnMs;
    add(record.key, { op, callMs: record.invokeMs, returnMs });
    if (op.kind !== "acquire" || op.outcome === "busy") continue;
    // The cluster may end this grant (if it was made) by expiry at any time after the request.
    const expire: TimedOp<LockOp> = {
      op: {
        kind: "expire",
        value: op.value,
        token: typeof op.outcome === "object" ? op.outcome.token : ANY_TOKEN,
      },
      callMs: record.invokeMs,
      returnMs: Number.POSITIVE_INFINITY,
    };
    if (typeof op.outcome === "string") {
      add(record.key, expire); // Each unanswered acquire may be a grant of its own.
      continue;
    }
    const id = grantId(record.key, op.value, op.outcome.token);
    if (released.has(id)) continue;
    const seen = expiries.get(id);
    if (seen === undefined) {
      expiries.set(id, expire);
      add(record.key, expire);
    } else {
      seen.callMs = Math.min(seen.callMs, expire.callMs);
    }
  }
  return byKey;
}

function grantId(key: string, value: string, token: number): string {
  return `${key}\u0000${value}\u0000${token}`;
}

export function checkLinearizability(
  history: History,
  stepBudget = STEP_BUDGET_PER_KEY,
): LinearizabilityCheckResult {
  const violations: string[] = [];
  const undecidedKeys: string[] = [];
  let examined = 0;
  let steps = 0;
  const started = performance.now();
  const byKey = wireHistoriesByKey(history.wire);
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    examined += ops.length;
    const conflict = tokenOrderConflict(ops);
    if (conflict !== null) {
      violations.push(
        `key "${key}" has no linearization\n${describeTokenOrderConflict(chaosLockModel, conflict)}`,
      );
      continue;
    }
    const result = checkLinearizable(chaosLockModel, ops, { stepBudget });
    steps += result.steps;
    if (result.outcome === "unknown") undecidedKeys.push(key);
    if (result.outcome === "violation") {
      violations.push(
        `key "${key}" has no linearization\n${describeViolation(chaosLockModel, result)}`,
      );
    }
  }
  return {
    name: "linearizability per key (every request on the wire)",
    violations,
    examined,
    undecidedKeys,
    keys: byKey.size,
    steps,
    searchMs: Math.round(performance.now() - started),
  };
}
