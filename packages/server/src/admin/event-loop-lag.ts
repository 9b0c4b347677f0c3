// Event-loop lag of this process: how late timers fire because something held the loop. A loop
// that stalls for a large part of an election timeout delays heartbeats and votes as surely as a
// slow network, so it is reported on every node (/metrics and /status).
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { IntervalHistogram } from "node:perf_hooks";
import type { EventLoopLagSnapshot } from "@dlock/protocol";

/** Sampling resolution of the monitor. */
export const EVENT_LOOP_LAG_RESOLUTION_MS = 10;
/** The recent figures are the larger of the last full window's and the current one's. */
export const EVENT_LOOP_LAG_WINDOW_MS = 10_000;

export type { EventLoopLagSnapshot };

const NO_LAG = { p50Ms: 0, p99Ms: 0, maxMs: 0 };

export class EventLoopLag {
  private readonly current: IntervalHistogram;
  private previous = NO_LAG;
  private maxMsSinceStart = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor() {
    this.current = monitorEventLoopDelay({ resolution: EVENT_LOOP_LAG_RESOLUTION_MS });
  }

  start(): void {
    if (this.timer !== null) return;
    this.current.enable();
    this.timer = setInterval(() => this.roll(), EVENT_LOOP_LAG_WINDOW_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.current.disable();
  }

  snapshot(): EventLoopLagSnapshot {
    const current = this.currentWindow();
    this.maxMsSinceStart = Math.max(this.maxMsSinceStart, current.maxMs);
    return {
      p50Ms: Math.max(this.previous.p50Ms, current.p50Ms),
      p99Ms: Math.max(this.previous.p99Ms, current.p99Ms),
      maxMs: Math.max(this.previous.maxMs, current.maxMs),
      maxMsSinceStart: this.maxMsSinceStart,
    };
  }

  private currentWindow(): typeof NO_LAG {
    // An empty histogram reports min/max as huge sentinels: no sample is no lag.
    if (this.current.count === 0) return NO_LAG;
    return {
      p50Ms: lateMsOf(this.current.percentile(50)),
      p99Ms: lateMsOf(this.current.percentile(99)),
      maxMs: lateMsOf(this.current.max),
    };
  }

  private roll(): void {
    this.previous = this.currentWindow();
    this.maxMsSinceStart = Math.max(this.maxMsSinceStart, this.previous.maxMs);
    this.current.reset();
  }
}

/**
 * How late a timer fired, from the monitor's sample: the monitor records the whole interval
 * between its timer's firings, so an idle loop reads the resolution (10 ms), and a turn that held
 * the loop 30 ms reads up to 40. Lateness is the interval past the resolution.
 */
export function lateMsOf(intervalNs: number): number {
  const lateNs = Math.max(0, intervalNs - EVENT_LOOP_LAG_RESOLUTION_MS * 1_000_000);
  return Math.round(lateNs / 1_000) / 1_000;
}
