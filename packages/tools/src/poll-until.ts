// Waiting on a real cluster: probe until there is an answer or the deadline passes.
import { performance } from "node:perf_hooks";

export interface PollOptions {
  timeoutMs: number;
  /** Pause between probes. */
  intervalMs: number;
  /** The error to throw once `timeoutMs` has passed without a value. */
  timedOut: () => Error;
}

/** Calls `probe` until it returns something other than null, and returns that. */
export async function pollUntil<T>(
  probe: () => Promise<T | null>,
  { timeoutMs, intervalMs, timedOut }: PollOptions,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (performance.now() > deadline) throw timedOut();
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
