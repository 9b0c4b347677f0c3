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
import type {
  LinearizabilityResult,
  LockModelState,
  LockOp,
  SequentialModel,
  TimedOp,
  WireOp,
} from "@dlock/testkit";
import { ELECTION_KEY_PREFIX } from "@dlock/client";
import type { CheckResult } from "./checks.js";
import { splitAtPins } from "./history-segments.js";

/** Search steps per key before the key counts as undecided (never as a violation). */
export const STEP_BUDGET_PER_KEY = 5_000_000;

/** An expiry of whatever grant `value` holds: for acquires whose token the client never saw. */
const ANY_TOKEN = -1;

/** The simulator's lock model, plus expiries of a grant whose token is unknown. */
export const chaosLockModel: SequentialModel<LockModelState, LockOp> = {
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
  /** Searches over all keys: each key's history is cut where its state is known (pins). */
  segments: number;
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

/**
 * The requests of plain lock keys: the lock model knows neither semaphores (a key any request took
 * permits of), reader-writer keys (a key any request took in a mode) nor elections (their queued
 * campaigns are the election checker's).
 */
export function lockKeyRequests(wire: readonly WireOp[]): WireOp[] {
  const sharedKeys = new Set<string>();
  for (const op of wire)
    if ("permits" in op.request || "mode" in op.request) sharedKeys.add(op.key);
  return wire.filter((op) => !sharedKeys.has(op.key) && !op.key.startsWith(ELECTION_KEY_PREFIX));
}

function grantId(key: string, value: string, token: number): string {
  return `${key}\u0000${value}\u0000${token}`;
}

/** What the linearizability check reads of a run: every request on the wire. */
export interface WireHistory {
  readonly wire: readonly WireOp[];
}

export function checkLinearizability(
  history: WireHistory,
  stepBudget = STEP_BUDGET_PER_KEY,
): LinearizabilityCheckResult {
  const violations: string[] = [];
  const undecidedKeys: string[] = [];
  let examined = 0;
  let steps = 0;
  let segments = 0;
  const started = performance.now();
  const byKey = wireHistoriesByKey(lockKeyRequests(history.wire));
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    examined += ops.length;
    const conflict = tokenOrderConflict(ops);
    if (conflict !== null) {
      violations.push(
        `key "${key}" has no linearization\n${describeTokenOrderConflict(chaosLockModel, conflict)}`,
      );
      continue;
    }
    const result = checkSegmented(ops, stepBudget);
    steps += result.steps;
    segments += result.segments;
    if (result.outcome === "unknown") undecidedKeys.push(key);
    if (result.outcome === "violation") {
      violations.push(
        `key "${key}" has no linearization\n${describeViolation(chaosLockModel, result.violation)}`,
      );
    }
  }
  return {
    name: "linearizability per lock key (every request on the wire)",
    violations,
    examined,
    undecidedKeys,
    keys: byKey.size,
    steps,
    segments,
    searchMs: Math.round(performance.now() - started),
  };
}

type Violation = Extract<LinearizabilityResult<LockOp>, { outcome: "violation" }>;

/** `segments`: searches that ended "ok" (a merged run of segments counts once). */
type SegmentedResult =
  | { outcome: "ok" | "unknown"; steps: number; segments: number }
  | { outcome: "violation"; steps: number; segments: number; violation: Violation };

/**
 * One key's history, searched segment by segment (history-segments.ts), with `stepBudget` steps
 * over all of them. Exact in both directions:
 * - "ok" only from one linearization of the whole history: each segment's search starts from the
 *   state its predecessor's pin fixed, ends with its own pin (every other answered operation of
 *   the segment returned before the pin was called, so the pin is placed last), and may use each
 *   operation of unknown outcome at most once over all segments: one that a segment used is gone
 *   for the later ones (the pool). Concatenated, they are a linearization.
 * - "violation" only when a segment fails even with every unknown operation called before its
 *   end on offer, used or not: any linearization of the whole history, cut at the segment's first
 *   and last pin, would be one of that segment from that state with a subset of those.
 * When a segment fails with the pool but passes with every unknown operation (an earlier segment
 * used one that this one needed), it is merged with the one before and both are searched again;
 * in the worst case the search is the unsplit one.
 */
function checkSegmented(ops: readonly TimedOp<LockOp>[], stepBudget: number): SegmentedResult {
  const segments = splitAtPins(ops);
  /** Per segment: the state and the unused unknown operations the searches before it left. */
  const starts: Array<{ state: LockModelState; pool: TimedOp<LockOp>[] }> = [
    { state: chaosLockModel.init(), pool: [] },
  ];
  let steps = 0;
  let searched = 0;
  let first = 0;
  let last = 0;
  /** Searches `own` from `state` with `earlier` on offer; on "ok", what is left of `earlier`. */
  const search = (
    state: LockModelState,
    earlier: TimedOp<LockOp>[],
    own: TimedOp<LockOp>[],
  ): { result: LinearizabilityResult<LockOp>; left: () => TimedOp<LockOp>[] } => {
    const live = earlier.filter((t) => !chaosLockModel.dead!(state, t.op));
    const offered = anonymize(live, own);
    const history = offered.concat(own);
    const model = { ...chaosLockModel, init: () => state };
    const result = checkLinearizable(model, history, {
      stepBudget: Math.max(0, stepBudget - steps),
    });
    steps += result.steps;
    const left = () => {
      const used = new Set(result.outcome === "ok" ? result.linearized : []);
      const gone = new Set<TimedOp<LockOp>>();
      // A phantom grant used here stands for one earlier acquire and its own expiry (see
      // anonymize): those two are gone, whichever expiry of the class the search placed.
      live.forEach((t, i) => {
        if (!used.has(i)) return;
        if (offered[i]!.op.value !== PHANTOM)
          gone.add(t); // offered maps live one to one
        else if (t.op.kind === "acquire") {
          gone.add(t);
          const expiry = live.find(
            (e) =>
              !gone.has(e) &&
              e.op.kind === "expire" &&
              e.op.token === ANY_TOKEN &&
              e.op.value === t.op.value,
          );
          if (expiry !== undefined) gone.add(expiry);
        }
      });
      return live
        .filter((t) => !gone.has(t))
        .concat(own.filter((t, i) => !Number.isFinite(t.returnMs) && !used.has(live.length + i)));
    };
    return { result, left };
  };
  while (last < segments.length) {
    const start = starts[first];
    // A search that ends "ok" sets the next start; a merge steps back to one already set.
    if (start === undefined)
      throw new Error(`linearizability check: segment ${first} has no start`);
    const { state, pool } = start;
    const own = segments.slice(first, last + 1).flatMap((s) => [...s.known, ...s.unknown]);
    const { result, left } = search(state, pool, own);
    if (result.outcome === "unknown") return { outcome: "unknown", steps, segments: searched };
    if (result.outcome === "ok") {
      searched++;
      const end = segments[last]!.end; // last < segments.length: the loop's test
      if (end !== null) starts[last + 1] = { state: end, pool: left() };
      first = last = last + 1;
      continue;
    }
    // Failed with what the earlier searches left: try every unknown operation called before.
    const everything = segments.slice(0, first).flatMap((s) => s.unknown);
    const all = everything.length === pool.length ? result : search(state, everything, own).result;
    if (all.outcome === "unknown") return { outcome: "unknown", steps, segments: searched };
    if (all.outcome === "violation") {
      return { outcome: "violation", steps, segments: searched, violation: all };
    }
    first--; // An earlier search used what this one needs: search both as one.
  }
  return { outcome: "ok", steps, segments: searched };
}

/** The holder a phantom grant stands for (no client value can contain a NUL). */
const PHANTOM = "\u0000an earlier unanswered acquire";

/**
 * Earlier unanswered acquires (called before the segment) whose value nothing in the search names
 * but their own expiries, one per acquire, are interchangeable: swapping two of them in a
 * linearization gives another one, since all could take effect from the segment's start and no
 * answer tells them apart. Searching each would multiply the search by their number (hundreds in
 * a long run) at every dead end; as one value, PHANTOM, the search tries only the first (the
 * model's equivalence). Exact: a phantom grant placed by the search is one of them, taken and
 * ended by that acquire's own expiry.
 */
function anonymize(earlier: TimedOp<LockOp>[], own: readonly TimedOp<LockOp>[]): TimedOp<LockOp>[] {
  const phantomPart = (op: LockOp): op is Extract<LockOp, { kind: "acquire" | "expire" }> =>
    (op.kind === "acquire" && op.outcome === "unknown") ||
    (op.kind === "expire" && op.token === ANY_TOKEN);
  const named = new Set<string>();
  /** Unanswered acquires minus expiries of unseen tokens, per value. */
  const balance = new Map<string, number>();
  for (const t of earlier) {
    if (!phantomPart(t.op)) named.add(nameOf(t.op));
    else
      balance.set(t.op.value, (balance.get(t.op.value) ?? 0) + (t.op.kind === "acquire" ? 1 : -1));
  }
  for (const t of own) named.add(nameOf(t.op));
  return earlier.map((t) =>
    phantomPart(t.op) && !named.has(t.op.value) && balance.get(t.op.value) === 0
      ? { ...t, op: { ...t.op, value: PHANTOM } as LockOp }
      : t,
  );
}

function nameOf(op: LockOp): string {
  return op.kind === "get" ? (op.value ?? "") : op.value;
}
