// The host's edges in a real process: Node's timers, its monotonic clock and Math.random. The only
// file under src/host that may touch them (eslint keeps it so); the simulator injects its own.
import { afterTurnFlushes, deferInTurn } from "../transport/turn-end.js";
import type { HostScheduler } from "./scheduler.js";

export const NODE_SCHEDULER: HostScheduler = {
  setRepeating: (callback, periodMs) => setInterval(callback, periodMs),
  clearRepeating: (handle) => clearInterval(handle as NodeJS.Timeout),
  setTimer: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  // What the deferred Raft work sends or answers is written in this turn, not the next one.
  defer: deferInTurn,
  afterTurnFlushes,
};

/** Monotonic milliseconds. */
export const nodeNowMs = (): number => performance.now();

export const nodeRandom = (): number => Math.random();
