// A linearizability checker in the style of Wing & Gong, with Lowe's memoization (as in
// Porcupine): depth-first search over the order in which operations take effect, each between
// its call and its return, against a sequential model; a cache of (set of operations linearized,
// model state) prunes the search. Histories are checked one partition (one key) at a time: a
// history is linearizable if and only if each key's sub-history is (P-compositionality).

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
  | { outcome: "ok"; steps: number }
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
  if (known === 0) return { outcome: "ok", steps: 0 };

  // Calls before returns at equal times: operations that touch in time count as concurrent.
  const events: Entry<Op>[] = [];
  for (let id = 0; id < n; id++) {
    const op = history[id];
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

  const words = new Uint32Array(Math.ceil(n / 32));
  const bitsKey = (): string => {
    let text = "";
    for (let i = 0; i < words.length; i++) text += words[i].toString(36) + ",";
    return text;
  };
  const cache = new Set<string>();
  const stack: { call: Entry<Op>; state: State }[] = [];
  let state = model.init();
  let knownLinearized = 0;
  let steps = 0;
  let longest: number[] = [];
  let stuckAt: number[] = [];
  let entry = head.next;

  while (entry !== null) {
    if (knownLinearized === known) return { outcome: "ok", steps };
    if (++steps > options.stepBudget) return { outcome: "unknown", steps };
    if (entry.isCall) {
      const op = history[entry.id];
      const next = model.step(state, op.op);
      if (next !== null) {
        const word = entry.id >>> 5;
        const bit = 1 << (entry.id & 31);
        words[word] |= bit;
        const cacheKey = bitsKey() + model.key(next);
        if (!cache.has(cacheKey)) {
          cache.add(cacheKey);
          stack.push({ call: entry, state });
          state = next;
          if (Number.isFinite(op.returnMs)) knownLinearized++;
          if (stack.length > longest.length) longest = stack.map((frame) => frame.call.id);
          lift(entry);
          entry = head.next;
          continue;
        }
        words[word] &= ~bit;
      }
      entry = entry.next;
      continue;
    }
    // A return whose operation is not linearized yet: undo the last choice.
    if (stack.length === 0) {
      if (longest.length === 0) stuckAt = stuckOps(head);
      return violation();
    }
    if (stack.length === longest.length) stuckAt = stuckOps(head);
    const frame = stack.pop()!;
    const call = frame.call;
    words[call.id >>> 5] &= ~(1 << (call.id & 31));
    state = frame.state;
    if (Number.isFinite(history[call.id].returnMs)) knownLinearized--;
    unlift(call);
    entry = call.next;
  }
  return { outcome: "ok", steps };

  function violation(): LinearizabilityResult<Op> {
    return {
      outcome: "violation",
      steps,
      longestPrefix: longest.map((id) => history[id]),
      stuck: stuckAt.map((id) => history[id]),
    };
  }
}

/** The operations that could be next: calls before the first return still in the list. */
function stuckOps<Op>(head: Entry<Op>): number[] {
  const ids: number[] = [];
  for (let entry = head.next; entry !== null; entry = entry.next) {
    if (!entry.isCall) {
      ids.push(entry.id);
      break;
    }
    ids.push(entry.id);
  }
  return [...new Set(ids)];
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
