// A linearizability checker in the style of Wing & Gong, with Lowe's memoization (as in
// Porcupine): depth-first search over the order in which operations take effect, each between
// its call and its return, against a sequential model; a cache of (set of operations linearized,
// model state) prunes the search. Histories are checked one partition (one key) at a time: a
// history is linearizable if and only if each key's sub-history is (P-compositionality).
//
// Operations of unknown outcome (infinite return) never bound the search window, so two search
// nodes with the same known operations linearized and the same model state differ only in which
// unknown ones they used up. A node that has used up a superset of another's can do nothing the
// other could not: it is pruned (dominance). Without this, every pair of unknown operations that
// cancel out (an unanswered acquire, then its expiry) doubles the nodes to visit after a dead end.

/** A sequential specification. States must be immutable; `key` identifies equal states. */
export interface SequentialModel<State, Op> {
  init(): State;
  /**
   * The state after `op` takes effect in `state`, or null if it cannot take effect there with the
   * output it reported. For an operation whose outcome is unknown (`returnMs` infinite), return
   * null when it would change nothing: such an operation is always linearizable at the very end,
   * so the search only places it where it has an effect.
   */
  step(state: State, op: Op): State | null;
  key(state: State): string;
  describe(op: Op): string;
  /**
   * Equal for operations that are interchangeable (same effect in every state), e.g. retries of
   * one request. Of several such operations of unknown outcome that could be next, only the one
   * called first is tried: wherever a later one could take effect, the earlier one could too.
   */
  equivalence?(op: Op): string;
  /**
   * True when `op` can take effect neither in `state` nor in any state reachable from it (e.g.
   * an expiry of a grant that later grants superseded). An operation of unknown outcome that is
   * dead is left out of the search below `state` (it may stay unlinearized) instead of being
   * tried at every later point; one of known outcome that is dead ends that branch at once.
   */
  dead?(state: State, op: Op): boolean;
}

/** An operation of the history; returnMs = Infinity for one whose outcome is unknown. */
export interface TimedOp<Op> {
  op: Op;
  callMs: number;
  returnMs: number;
}

export interface LinearizabilityOptions {
  /** Search steps allowed before giving up with "unknown". */
  stepBudget: number;
}

export type LinearizabilityResult<Op> =
  | {
      outcome: "ok";
      steps: number;
      /**
       * The linearization found, as indexes into the history, in order. Operations of unknown
       * outcome that are not in it need not take effect before the last known one.
       */
      linearized: number[];
    }
  /** The budget ran out: neither proven nor refuted. */
  | { outcome: "unknown"; steps: number }
  | {
      outcome: "violation";
      steps: number;
      /** The longest prefix of a linearization the search found, in order. */
      longestPrefix: TimedOp<Op>[];
      /** Operations that could not come next after that prefix (those whose call came first). */
      stuck: TimedOp<Op>[];
    };

interface Entry<Op> {
  /** Index of the operation in the input. */
  id: number;
  isCall: boolean;
  timeMs: number;
  match: Entry<Op> | null;
  prev: Entry<Op> | null;
  next: Entry<Op> | null;
}

/** Checks one partition of a history against `model`. */
export function checkLinearizable<State, Op>(
  model: SequentialModel<State, Op>,
  history: readonly TimedOp<Op>[],
  options: LinearizabilityOptions,
): LinearizabilityResult<Op> {
  const n = history.length;
  const known = history.filter((op) => Number.isFinite(op.returnMs)).length;
  if (known === 0) return { outcome: "ok", steps: 0, linearized: [] };

  // Calls before returns at equal times: operations that touch in time count as concurrent.
  const events: Entry<Op>[] = [];
  for (const [id, op] of history.entries()) {
    const call: Entry<Op> = {
      id,
      isCall: true,
      timeMs: op.callMs,
      match: null,
      prev: null,
      next: null,
    };
    const ret: Entry<Op> = {
      id,
      isCall: false,
      timeMs: op.returnMs,
      match: null,
      prev: null,
      next: null,
    };
    call.match = ret;
    events.push(call, ret);
  }
  events.sort((a, b) => a.timeMs - b.timeMs || Number(b.isCall) - Number(a.isCall) || a.id - b.id);
  const head: Entry<Op> = {
    id: -1,
    isCall: false,
    timeMs: -Infinity,
    match: null,
    prev: null,
    next: null,
  };
  let previous = head;
  for (const event of events) {
    previous.next = event;
    event.prev = previous;
    previous = event;
  }

  const lift = (call: Entry<Op>): void => {
    call.prev!.next = call.next;
    if (call.next !== null) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next !== null) ret.next.prev = ret.prev;
  };
  const unlift = (call: Entry<Op>): void => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next !== null) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next !== null) call.next.prev = call;
  };

  // Bit sets of operation ids: word id >>> 5 of every one below exists, as id < n. Entry ids
  // index history, and every word array has words.length words.
  const words = new Uint32Array(Math.ceil(n / 32));
  const setBit = (bits: Uint32Array, id: number): void => {
    bits[id >>> 5]! |= 1 << (id & 31);
  };
  const clearBit = (bits: Uint32Array, id: number): void => {
    bits[id >>> 5]! &= ~(1 << (id & 31));
  };
  const opOf = (id: number): TimedOp<Op> => history[id]!;
  /** The bits of operations of unknown outcome. */
  const unknownMask = new Uint32Array(words.length);
  history.forEach((timed, id) => {
    if (!Number.isFinite(timed.returnMs)) setBit(unknownMask, id);
  });
  const knownBitsKey = (): string => {
    let text = "";
    for (let i = 0; i < words.length; i++) {
      text += (words[i]! & ~unknownMask[i]!).toString(36) + ",";
    }
    return text;
  };
  /** Unknown-outcome operations used up by each (known set, state) visited. */
  const visited = new Map<string, Uint32Array[]>();
  const VISITS_KEPT = 16; // per (known set, state); fewer only prunes less
  /** Records the current node, or returns false if an equal or dominating one was visited. */
  const visit = (stateKey: string): boolean => {
    const key = knownBitsKey() + stateKey;
    const used = new Uint32Array(words.length);
    for (let i = 0; i < words.length; i++) used[i] = words[i]! & unknownMask[i]!;
    let seen = visited.get(key);
    if (seen === undefined) visited.set(key, (seen = []));
    for (const earlier of seen) {
      let subset = true;
      for (let i = 0; i < used.length && subset; i++) subset = (earlier[i]! & ~used[i]!) === 0;
      if (subset) return false;
    }
    if (seen.length >= VISITS_KEPT) seen.shift();
    seen.push(used);
    return true;
  };
  const isKnown = (entry: Entry<Op>): boolean => Number.isFinite(opOf(entry.id).returnMs);
  // The operations that may take effect next: those called before the earliest pending return.
  // Known outcomes first: an operation of unknown outcome can always wait (even to the end).
  const equivalence = model.equivalence;
  const classOf: (string | null)[] = history.map((timed) =>
    equivalence === undefined || Number.isFinite(timed.returnMs) ? null : equivalence(timed.op),
  );
  const candidates = (): Entry<Op>[] => {
    const known: Entry<Op>[] = [];
    const unknown: Entry<Op>[] = [];
    let seen: Set<string> | null = null;
    for (let entry = head.next; entry !== null && entry.isCall; entry = entry.next) {
      const id = classOf[entry.id] ?? null;
      if (id === null) {
        (isKnown(entry) ? known : unknown).push(entry);
        continue;
      }
      seen ??= new Set();
      if (seen.has(id)) continue;
      seen.add(id);
      unknown.push(entry);
    }
    return unknown.length === 0 ? known : known.concat(unknown);
  };
  const dead = model.dead;
  /**
   * Takes the operations of unknown outcome that are dead in `state` out of the search below it,
   * as if used up: no candidate scan meets them again, and two nodes that differ only in which
   * of them they used count as equal for dominance (neither can use them any more).
   */
  /** Set by buryDead(): an operation of known outcome that can never take effect below `state`. */
  let doomedBy: Entry<Op> | null = null;
  const buryDead = (): Entry<Op>[] => {
    const buried: Entry<Op>[] = [];
    doomedBy = null;
    if (dead === undefined) return buried;
    let entry = head.next;
    while (entry !== null && entry.isCall) {
      const following: Entry<Op> | null = entry.next;
      if (dead(state, opOf(entry.id).op)) {
        if (isKnown(entry)) {
          doomedBy = entry;
          break;
        }
        setBit(words, entry.id);
        lift(entry);
        buried.push(entry);
      }
      entry = following;
    }
    return buried;
  };
  const unbury = (buried: Entry<Op>[]): void => {
    for (let i = buried.length - 1; i >= 0; i--) {
      const entry = buried[i]!;
      unlift(entry);
      clearBit(words, entry.id);
    }
  };
  interface Frame {
    candidates: Entry<Op>[];
    next: number;
    /** The operation linearized to reach this frame, and the state before it. */
    via: Entry<Op> | null;
    stateBefore: State;
    /** Operations buryDead() took out on reaching this frame (put back when leaving it). */
    buried: Entry<Op>[];
  }
  let state = model.init();
  const rootBuried = buryDead();
  const root: Frame = {
    candidates: candidates(),
    next: 0,
    via: null,
    stateBefore: state,
    buried: rootBuried,
  };
  const stack: Frame[] = [root];
  let knownLinearized = 0;
  let steps = 0;
  let longest: number[] = [];
  let stuckAt: number[] = root.candidates.map((entry) => entry.id);

  while (knownLinearized < known) {
    if (++steps > options.stepBudget) return { outcome: "unknown", steps };
    // Never empty here: popping the root returns a violation.
    const frame = stack[stack.length - 1]!;
    if (frame.next < frame.candidates.length) {
      const entry = frame.candidates[frame.next++]!;
      const next = model.step(state, opOf(entry.id).op);
      if (next === null) continue;
      setBit(words, entry.id);
      lift(entry);
      const before = state;
      state = next; // buryDead() and candidates() read the state of the new node
      const buried = buryDead();
      // A doomed node is entered only to show what is stuck there (it has no other candidate).
      if (doomedBy === null && !visit(model.key(next))) {
        unbury(buried);
        state = before;
        unlift(entry);
        clearBit(words, entry.id);
        continue;
      }
      if (isKnown(entry)) knownLinearized++;
      const child: Frame = {
        candidates: doomedBy === null ? candidates() : [doomedBy],
        next: 0,
        via: entry,
        stateBefore: before,
        buried,
      };
      stack.push(child);
      if (stack.length - 1 > longest.length) {
        longest = stack.slice(1).map((f) => f.via!.id);
        stuckAt = child.candidates.map((candidate) => candidate.id);
      }
      continue;
    }
    // Every candidate failed here: undo the choice that led to this frame.
    stack.pop();
    const via = frame.via;
    if (via === null) return violation();
    unbury(frame.buried);
    clearBit(words, via.id);
    if (isKnown(via)) knownLinearized--;
    unlift(via);
    state = frame.stateBefore;
  }
  return { outcome: "ok", steps, linearized: stack.slice(1).map((frame) => frame.via!.id) };

  function violation(): LinearizabilityResult<Op> {
    return {
      outcome: "violation",
      steps,
      longestPrefix: longest.map(opOf),
      stuck: stuckAt.map(opOf),
    };
  }
}

/** Human-readable lines for a violation: the longest linearizable prefix and what got stuck. */
export function describeViolation<State, Op>(
  model: SequentialModel<State, Op>,
  result: Extract<LinearizabilityResult<Op>, { outcome: "violation" }>,
  maxLines = 40,
): string {
  const lines: string[] = [];
  const prefix = result.longestPrefix;
  const shown = prefix.slice(Math.max(0, prefix.length - maxLines));
  lines.push(
    `longest linearizable prefix: ${prefix.length} operations` +
      (shown.length < prefix.length ? ` (last ${shown.length} shown)` : ""),
  );
  for (const timed of shown) lines.push(`  ${formatTimed(model, timed)}`);
  lines.push("none of these can come next:");
  for (const timed of result.stuck.slice(0, maxLines)) {
    lines.push(`  ${formatTimed(model, timed)}`);
  }
  return lines.join("\n");
}

function formatTimed<State, Op>(model: SequentialModel<State, Op>, timed: TimedOp<Op>): string {
  const end = Number.isFinite(timed.returnMs) ? timed.returnMs.toFixed(3) : "∞";
  return `[${timed.callMs.toFixed(3)}, ${end}] ${model.describe(timed.op)}`;
}
