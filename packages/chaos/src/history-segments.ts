// One key's history cut into segments at "pins": answered operations after which the key's state
// is the same whatever came before them, and which overlap no other answered operation in time.
// Every answered operation before a pin returned before the pin was called, and every one after
// it was called after the pin returned, so in any linearization the pin separates them; the state
// right after it is fixed by its answer alone. The segments can then be searched one at a time,
// each from its pin's state: a search over ~20k operations becomes thousands of tiny ones.
//
// Operations of unknown outcome do not respect a cut: a request whose answer was lost can sit in
// a Raft log and commit long after (the commands carry durations, not deadlines, so nothing stops
// a late apply; a lease only starts counting when the entry applies). Each one therefore enters
// the search at the segment of its call and stays available to every later segment until it is
// used (it takes effect at most once) or dead (the token floor passed the grant it needs); see
// linearizability-check.ts for how that stays exact.
import type { LockModelState, LockOp, TimedOp } from "@dlock/testkit";

export interface HistorySegment {
  /** Operations with an answer, in call order; the last one is the pin, unless `end` is null. */
  known: TimedOp<LockOp>[];
  /** Operations of unknown outcome called in this segment (or while its pin was in flight). */
  unknown: TimedOp<LockOp>[];
  /** The key's state right after the pin that ends the segment; null for the last segment. */
  end: LockModelState | null;
}

/**
 * The key's state after `op`, if its answer alone fixes it. Holding grant T means the token floor
 * is T: a grant's token is above every earlier grant's, and the floor is the highest of them.
 */
export function pinnedState(op: LockOp): LockModelState | null {
  switch (op.kind) {
    case "acquire":
      return typeof op.outcome === "object"
        ? { holder: op.value, token: op.outcome.token, floor: op.outcome.token }
        : null;
    case "refresh":
      return op.outcome === "ok" ? { holder: op.value, token: op.token, floor: op.token } : null;
    case "get":
      return op.held && op.value !== null && op.token !== null
        ? { holder: op.value, token: op.token, floor: op.token }
        : null;
    case "release":
      // Token 0 ("whatever value holds") does not say which grant ended: the floor stays open.
      return op.outcome === "released" && op.token > 0
        ? { holder: null, token: 0, floor: op.token }
        : null;
    case "expire":
      return null;
  }
}

/** Cuts `ops` (one key) at every pin; a history without one is a single segment. */
export function splitAtPins(ops: readonly TimedOp<LockOp>[]): HistorySegment[] {
  const known = ops
    .filter((t) => Number.isFinite(t.returnMs))
    .sort((a, b) => a.callMs - b.callMs || a.returnMs - b.returnMs);
  const unknown = ops
    .filter((t) => !Number.isFinite(t.returnMs))
    .sort((a, b) => a.callMs - b.callMs);
  const segments: HistorySegment[] = [];
  let current: HistorySegment = { known: [], unknown: [], end: null };
  /** Pin return times, one per closed segment. */
  const pinReturns: number[] = [];
  let latestReturn = Number.NEGATIVE_INFINITY;
  for (const [i, op] of known.entries()) {
    current.known.push(op);
    // Strict comparisons: operations that touch in time count as concurrent (as in the search).
    const clearBefore = latestReturn < op.callMs;
    const next = known[i + 1];
    const clearAfter = next === undefined || next.callMs > op.returnMs;
    latestReturn = Math.max(latestReturn, op.returnMs);
    const end = clearBefore && clearAfter ? pinnedState(op.op) : null;
    if (end === null) continue;
    current.end = end;
    segments.push(current);
    pinReturns.push(op.returnMs);
    current = { known: [], unknown: [], end: null };
  }
  segments.push(current);
  // An unknown operation called before a pin returned may take effect before that pin: it joins
  // the first segment whose pin returned at or after its call.
  // One segment per pin, and the last (open) one: s stays below segments.length.
  let s = 0;
  for (const op of unknown) {
    while (s < pinReturns.length && pinReturns[s]! < op.callMs) s++;
    segments[s]!.unknown.push(op);
  }
  return segments;
}
