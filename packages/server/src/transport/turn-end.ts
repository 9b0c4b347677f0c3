// Where a turn's writes go out. Sockets are written once per event-loop turn (every answer or Raft
// message of the turn in one write), at the check phase (setImmediate). But the host's Raft work
// itself runs in the check phase (a deferred callback), and an immediate queued from there waits
// for the next loop iteration: a poll and a timers pass later, twice per commit on a leader (the
// appends, then the answers). So work deferred through deferInTurn() flushes what it produced as
// soon as it and the promise continuations it started have settled, in the same turn.

/** True from the start of a deferInTurn callback until its continuations have settled. */
let inDeferred = false;
const atDeferredEnd: (() => void)[] = [];

/**
 * Calls `flush` once this turn's work is done: at the end of the running deferInTurn callback
 * (after its promise continuations), else at the check phase (setImmediate). The caller coalesces:
 * it asks once per turn.
 */
export function flushAtTurnEnd(flush: () => void): void {
  if (inDeferred) atDeferredEnd.push(flush);
  else setImmediate(flush);
}

/**
 * Resolves once this turn's flushes are written when called inside deferInTurn work (null
 * elsewhere: nothing is held): a disk write started after them does not delay the sockets.
 */
export function afterTurnFlushes(): Promise<void> | null {
  if (!inDeferred) return null;
  return new Promise<void>((resolve) => atDeferredEnd.push(resolve));
}

/** setImmediate(callback), and what callback's work asks to flush goes out right after it. */
export function deferInTurn(callback: () => void): void {
  setImmediate(runDeferred, callback);
}

function runDeferred(callback: () => void): void {
  inDeferred = true;
  try {
    callback();
  } finally {
    // Node drains the whole microtask queue (continuations of continuations too) before it runs a
    // tick queued from a microtask: endDeferred runs after everything the callback started.
    queueMicrotask(queueEnd);
  }
}

function queueEnd(): void {
  process.nextTick(endDeferred);
}

function endDeferred(): void {
  inDeferred = false;
  const flushes = atDeferredEnd.splice(0);
  for (const flush of flushes) flush();
}
