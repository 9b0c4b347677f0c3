import type { ClientResponse } from "@dlock/protocol";
import type { CommittedLockEntry, WireOp } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";
import type { LinearizabilityResult, SequentialModel, TimedOp } from "./linearizability.js";
import { checkLinearizable, describeViolation } from "./linearizability.js";

/**
 * One operation on one key, as the linearizability check sees it. "unknown": no answer reached
 * the client, or an answer that does not say whether the request took effect (NOT_LEADER after a
 * proposal, a timeout, a reset connection): it may have taken effect at any time after its call.
 * "expire" comes from the committed log: the leader ended grant `token` of `value`.
 */
export type LockOp =
  | { kind: "acquire"; value: string; outcome: "unknown" | "busy" | { token: number } }
  | { kind: "refresh"; value: string; token: number; outcome: "ok" | "notOwner" }
  | {
      kind: "release";
      value: string;
      /** 0: whatever grant `value` holds. */
      token: number;
      outcome: "unknown" | "released" | "notHeld";
    }
  | { kind: "get"; held: boolean; value: string | null; token: number | null }
  | { kind: "expire"; value: string; token: number };

/**
 * The key's state. `token` 0: the holder's token is not known yet (its acquire's answer was
 * lost); it is above `floor`, the highest token known to have been granted before it, and is
 * fixed by the first operation that names it.
 */
export interface LockModelState {
  holder: string | null;
  token: number;
  floor: number;
}

const FREE: LockModelState = { holder: null, token: 0, floor: 0 };

/** Whether `token` can be the holder's token in `state` (fixing it if it was unknown). */
function tokenFits(state: LockModelState, token: number): boolean {
  return state.token === token || (state.token === 0 && token > state.floor);
}

function withToken(state: LockModelState, token: number): LockModelState {
  if (state.token === token) return state;
  return { holder: state.holder, token, floor: Math.max(state.floor, token) };
}

function freed(state: LockModelState, token: number): LockModelState {
  return { holder: null, token: 0, floor: Math.max(state.floor, token) };
}

/** The grant an operation needs to hold the key to take effect (0: none in particular). */
function tokenNeeded(op: LockOp): number {
  switch (op.kind) {
    case "acquire":
      return typeof op.outcome === "object" ? op.outcome.token : 0;
    case "refresh":
      return op.outcome === "ok" ? op.token : 0;
    case "release":
      return op.outcome === "notHeld" ? 0 : op.token;
    case "get":
      return op.held ? (op.token ?? 0) : 0;
    case "expire":
      return op.token;
  }
}

/**
 * A quick refutation, before any search: an operation that needs grant `t` (and so leaves the
 * token floor at ≥ t) returned before another that needs an older grant was called. Tokens only
 * grow, so the later one can never take effect. Returns the two, or null.
 */
export function tokenOrderConflict(
  history: readonly TimedOp<LockOp>[],
): { newer: TimedOp<LockOp>; older: TimedOp<LockOp> } | null {
  const known = history.filter((t) => Number.isFinite(t.returnMs) && tokenNeeded(t.op) > 0);
  const byReturn = [...known].sort((a, b) => a.returnMs - b.returnMs);
  const byCall = [...known].sort((a, b) => a.callMs - b.callMs);
  let highest: TimedOp<LockOp> | null = null;
  let next = 0;
  for (const later of byCall) {
    // Strictly before the call: operations that touch in time count as concurrent.
    while (next < byReturn.length && byReturn[next]!.returnMs < later.callMs) {
      const done = byReturn[next++]!; // next < byReturn.length: the loop's test
      if (highest === null || tokenNeeded(done.op) > tokenNeeded(highest.op)) highest = done;
    }
    if (highest !== null && tokenNeeded(highest.op) > tokenNeeded(later.op)) {
      return { newer: highest, older: later };
    }
  }
  return null;
}

/** The lines that explain a tokenOrderConflict, in the style of describeViolation. */
export function describeTokenOrderConflict(
  model: SequentialModel<LockModelState, LockOp>,
  conflict: { newer: TimedOp<LockOp>; older: TimedOp<LockOp> },
): string {
  const line = (t: TimedOp<LockOp>): string =>
    `  [${t.callMs.toFixed(3)}, ${t.returnMs.toFixed(3)}] ${model.describe(t.op)}`;
  return [
    "tokens only grow, yet this answer needs a newer grant:",
    line(conflict.newer),
    "than this one, called after it returned:",
    line(conflict.older),
  ].join("\n");
}

/** The sequential specification of one key of the lock table (docs/design.md §2). */
export const lockModel: SequentialModel<LockModelState, LockOp> = {
  init: () => FREE,
  step(state, op) {
    switch (op.kind) {
      case "acquire": {
        const outcome = op.outcome;
        if (outcome === "busy") {
          return state.holder !== null && state.holder !== op.value ? state : null;
        }
        if (outcome === "unknown") {
          // Only where it has an effect; as a no-op it can always go at the end.
          return state.holder === null ? { holder: op.value, token: 0, floor: state.floor } : null;
        }
        if (state.holder === null) {
          return outcome.token > state.floor
            ? { holder: op.value, token: outcome.token, floor: outcome.token }
            : null;
        }
        // The holder acquiring again keeps its grant (a retried request is harmless).
        return state.holder === op.value && tokenFits(state, outcome.token)
          ? withToken(state, outcome.token)
          : null;
      }
      case "refresh": {
        const holds = state.holder === op.value && tokenFits(state, op.token);
        if (op.outcome === "ok") return holds ? withToken(state, op.token) : null;
        // NOT_OWNER: that grant is not the holder (an unknown token may differ).
        return state.holder === op.value && state.token === op.token ? null : state;
      }
      case "release": {
        const holds = state.holder === op.value && (op.token === 0 || tokenFits(state, op.token));
        if (op.outcome === "released" || op.outcome === "unknown") {
          return holds ? freed(state, op.token) : null;
        }
        return state.holder === op.value && (op.token === 0 || state.token === op.token)
          ? null
          : state;
      }
      case "get":
        if (!op.held) return state.holder === null ? state : null;
        return state.holder === op.value && op.token !== null && tokenFits(state, op.token)
          ? withToken(state, op.token)
          : null;
      case "expire":
        return state.holder === op.value && tokenFits(state, op.token)
          ? freed(state, op.token)
          : null;
    }
  },
  key: (state) => `${state.holder ?? ""}|${state.token}|${state.floor}`,
  // The floor only rises and the holder's token is fixed once known: an operation that needs
  // grant `token` to hold the key cannot take effect once the floor passed it, unless that
  // grant holds the key right now.
  dead(state, op) {
    const token = tokenNeeded(op);
    return token > 0 && token <= state.floor && state.token !== token;
  },
  equivalence: (op) => JSON.stringify(op),
  describe(op) {
    switch (op.kind) {
      case "acquire": {
        const outcome = op.outcome;
        const result = typeof outcome === "string" ? outcome : `granted token ${outcome.token}`;
        return `acquire by ${op.value} → ${result}`;
      }
      case "refresh":
        return `refresh token ${op.token} by ${op.value} → ${op.outcome}`;
      case "release":
        return `release ${op.token === 0 ? "any token" : `token ${op.token}`} by ${op.value} → ${op.outcome}`;
      case "get":
        return op.held ? `get → held by ${op.value}, token ${op.token}` : "get → free";
      case "expire":
        return `expire of token ${op.token} held by ${op.value} (committed)`;
    }
  },
};

/** Answers that say nothing about whether the request took effect. */
const UNKNOWN_CODES = new Set([
  "NOT_LEADER",
  "CLUSTER_UNAVAILABLE",
  "TIMED_OUT",
  "OVERLOADED",
  "TOO_MANY_REQUESTS",
  "CONNECTION_CLOSED",
  "INTERNAL",
  "ABORTED",
]);

type Answer =
  | { kind: "ok"; result: Record<string, unknown> }
  | { kind: "error"; code: string; notApplied: boolean };

function answerOf(response: ClientResponse | null): Answer | null {
  if (response === null) return null;
  if (response.type === "ok") {
    return { kind: "ok", result: response.result as Record<string, unknown> };
  }
  return {
    kind: "error",
    code: response.error.code,
    notApplied: response.error.notApplied === true,
  };
}

/** The model's view of one request on the wire (null: it cannot change the key's holder). */
export function lockOpOf(op: WireOp): LockOp | null {
  const answer = answerOf(op.response);
  // NOT_LEADER that says the request was never applied: as if it had not been sent.
  if (answer?.kind === "error" && answer.notApplied) return null;
  const unknown = answer === null || (answer.kind === "error" && UNKNOWN_CODES.has(answer.code));
  const request = op.request;
  switch (request.type) {
    case "acquire":
      if (unknown) return { kind: "acquire", value: request.value, outcome: "unknown" };
      if (answer!.kind === "ok") {
        const token = answer!.result.fencingToken as number;
        return { kind: "acquire", value: request.value, outcome: { token } };
      }
      if (answer!.code === "LOCK_BUSY") {
        return { kind: "acquire", value: request.value, outcome: "busy" };
      }
      return null;
    case "semaphoreAcquire":
    case "rwAcquire":
      // Semaphore and rw keys are checked by their own checkers, never by the lock model.
      return null;
    case "refresh":
      if (unknown) return null;
      if (answer!.kind === "ok") {
        return { kind: "refresh", value: request.value, token: request.token, outcome: "ok" };
      }
      if (answer!.code === "NOT_OWNER") {
        return { kind: "refresh", value: request.value, token: request.token, outcome: "notOwner" };
      }
      return null;
    case "release": {
      const token = request.token ?? 0;
      if (unknown) return { kind: "release", value: request.value, token, outcome: "unknown" };
      if (answer!.kind !== "ok") return null;
      const released = answer!.result.released === true;
      return {
        kind: "release",
        value: request.value,
        token,
        outcome: released ? "released" : "notHeld",
      };
    }
    case "get": {
      if (unknown || answer!.kind !== "ok") return null;
      const result = answer!.result;
      return {
        kind: "get",
        held: result.held === true,
        value: (result.value as string | null) ?? null,
        token: (result.fencingToken as number | null) ?? null,
      };
    }
    case "cancel":
      return null;
    case "forceRelease":
      // Admin only; no workload checked by this model sends it (it has no holder value to model).
      return null;
    case "watch":
      // A read of events: it changes no holder.
      return null;
  }
}

/** Per key, the timed operations of a run: wire requests plus the committed expiries. */
export function lockHistoriesByKey(
  ops: readonly WireOp[],
  committed: Iterable<CommittedLockEntry>,
): Map<string, TimedOp<LockOp>[]> {
  const byKey = new Map<string, TimedOp<LockOp>[]>();
  const add = (key: string, timed: TimedOp<LockOp>): void => {
    let list = byKey.get(key);
    if (list === undefined) byKey.set(key, (list = []));
    list.push(timed);
  };
  for (const op of ops) {
    const lockOp = lockOpOf(op);
    if (lockOp === null) continue;
    const returnMs =
      op.returnMs === null ||
      (lockOp.kind === "acquire" && lockOp.outcome === "unknown") ||
      (lockOp.kind === "release" && lockOp.outcome === "unknown")
        ? Infinity
        : op.returnMs;
    add(op.key, { op: lockOp, callMs: op.invokeMs, returnMs });
  }
  for (const entry of committed) {
    const result = entry.result;
    if (result.type !== "expired") continue;
    add(result.key, {
      op: { kind: "expire", value: result.value, token: result.token },
      callMs: 0,
      returnMs: entry.appliedMs,
    });
  }
  return byKey;
}

export interface LockLinearizabilityReport {
  keys: number;
  operations: number;
  /** Keys whose search ran out of budget (neither proven nor refuted). */
  undecided: string[];
  steps: number;
  violation: SafetyViolation | null;
}

/** Checks every key's history; the first key without a linearization is the violation. */
export function checkLockLinearizability(
  ops: readonly WireOp[],
  committed: Iterable<CommittedLockEntry>,
  stepBudgetPerKey: number,
): LockLinearizabilityReport {
  const histories = lockHistoriesByKey(ops, committed);
  const report: LockLinearizabilityReport = {
    keys: histories.size,
    operations: 0,
    undecided: [],
    steps: 0,
    violation: null,
  };
  for (const [key, history] of [...histories].sort(([a], [b]) => (a < b ? -1 : 1))) {
    report.operations += history.length;
    const conflict = tokenOrderConflict(history);
    if (conflict !== null) {
      report.violation ??= new SafetyViolation(
        "linearizability",
        `key "${key}" (${history.length} operations) has no linearization\n` +
          describeTokenOrderConflict(lockModel, conflict),
      );
      continue;
    }
    const result: LinearizabilityResult<LockOp> = checkLinearizable(lockModel, history, {
      stepBudget: stepBudgetPerKey,
    });
    report.steps += result.steps;
    if (result.outcome === "unknown") report.undecided.push(key);
    if (result.outcome === "violation" && report.violation === null) {
      report.violation = new SafetyViolation(
        "linearizability",
        `key "${key}" (${history.length} operations) has no linearization\n` +
          describeViolation(lockModel, result),
      );
    }
  }
  return report;
}
