import type { Clock, TimerHandle } from "@dlock/client/internal";
import { QueuedEvent } from "../event-queue.js";
import { HeldWork } from "../held-work.js";
import type { AsyncWorld } from "./async-world.js";

/**
 * running: the process runs. paused: stopped (SIGSTOP, a long GC pause): its timers and incoming
 * messages wait, in order, until it resumes; its clock keeps going. down: crashed or stopped; a
 * restart is a new incarnation and nothing scheduled by an older one runs.
 */
export type ProcessStatus = "running" | "paused" | "down";

/** What the simulator needs to know about a process (a server node or a client). */
export interface SimProcess {
  readonly name: string;
  readonly status: ProcessStatus;
  /** Bumped on every crash and restart. */
  readonly incarnation: number;
  /** Runs `work` when the process runs again (only called while paused), in call order. */
  defer(work: () => void): void;
}

/**
 * The run state every simulated process keeps: its status, its incarnation and the work held while
 * it is paused. Subclasses start and end incarnations; pause and resume are the same for all.
 */
export abstract class SimProcessBase implements SimProcess {
  abstract readonly name: string;
  status: ProcessStatus = "down";
  incarnation = 0;
  protected readonly held = new HeldWork();

  defer(work: () => void): void {
    this.held.hold(work);
  }

  pause(): void {
    if (this.status === "running") this.status = "paused";
  }

  resume(): void {
    if (this.status !== "paused") return;
    this.status = "running";
    this.held.runWhile(() => this.status === "running");
  }

  /** A new incarnation runs (nothing held for an older one survives); returns its number. */
  protected beginIncarnation(): number {
    this.incarnation++;
    this.status = "running";
    this.held.drop();
    return this.incarnation;
  }

  /** The process crashed or stopped: nothing its incarnation scheduled runs any more. */
  protected endIncarnation(): void {
    this.status = "down";
    this.incarnation++;
    this.held.drop();
  }
}

/** Node's largest timer delay; longer (or invalid) delays become 1 ms, as in Node. */
const TIMER_DELAY_MS_MAX = 2_147_483_647;

/** A timer of a process clock, queued as its own world event; `done` once it fired or was cleared. */
class SimTimer extends QueuedEvent {
  done = false;

  constructor(
    private readonly clock: SimProcessClock,
    readonly callback: () => void,
    readonly incarnation: number,
    /** The callback may enter promise-based code: drain continuations after it. */
    readonly touches: boolean,
  ) {
    super();
  }

  run(): void {
    this.clock.fire(this);
  }
}

/**
 * A process's clocks. The monotonic clock (the `Clock` the client and the lease manager get)
 * runs at `rate` × true time from an arbitrary origin and never jumps; pauses do not stop it. The
 * wall clock is the monotonic one plus an offset that clock-jump faults move back and forth:
 * nothing in dlock may read it, and the simulator counts the jumps it survived.
 *
 * Timers fire after their delay on this clock (so a fast clock fires early in true time), wait
 * while the process is paused and vanish when it crashes.
 */
export class SimProcessClock implements Clock {
  private wallOffsetMs = 0;
  jumps = 0;

  constructor(
    private readonly world: AsyncWorld,
    private readonly process: SimProcess,
    /** Clock ms per true ms. */
    readonly rate: number,
    /** Reading of the monotonic clock at true time 0. */
    readonly originMs: number,
  ) {
    if (!(rate > 0)) throw new RangeError(`clock rate must be > 0, got ${rate}`);
  }

  now(): number {
    return this.originMs + this.world.nowMs * this.rate;
  }

  /** The true (simulator) time at which this clock reads `clockMs`. */
  toTrueMs(clockMs: number): number {
    return (clockMs - this.originMs) / this.rate;
  }

  wallNow(): number {
    return this.now() + this.wallOffsetMs;
  }

  /** An operator or NTP stepped the wall clock by `deltaMs` (either direction). */
  jumpWall(deltaMs: number): void {
    this.wallOffsetMs += deltaMs;
    this.jumps++;
  }

  /**
   * Like Node's setTimeout: a delay below 1 ms (or not a number) counts as 1 ms, and the callback
   * never runs before the clock reads the requested time (so code that re-arms a timer that came
   * "early" cannot spin at one instant).
   */
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.schedule(callback, delayMs, true);
  }

  /**
   * A timer whose callback runs no promise-based code (or says so itself with world.touch()):
   * the world need not drain continuations after it, which keeps busy ticks cheap.
   */
  setQuietTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.schedule(callback, delayMs, false);
  }

  private schedule(callback: () => void, delayMs: number, touches: boolean): TimerHandle {
    const timer = new SimTimer(this, callback, this.process.incarnation, touches);
    const clockDelayMs = delayMs >= 1 && delayMs <= TIMER_DELAY_MS_MAX ? delayMs : 1;
    const targetMs = this.now() + clockDelayMs;
    let atMs = this.toTrueMs(targetMs);
    for (let nudge = 1e-9; this.originMs + atMs * this.rate < targetMs; nudge *= 2) {
      atMs += nudge;
    }
    this.world.world.atEvent(atMs, timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    if (handle instanceof SimTimer) handle.done = true;
  }

  /** A timer came due (or a paused process resumed with it held). */
  fire(timer: SimTimer): void {
    if (timer.done || timer.incarnation !== this.process.incarnation) return;
    switch (this.process.status) {
      case "down":
        return;
      case "paused":
        this.process.defer(() => this.fire(timer));
        return;
      case "running":
        timer.done = true;
        if (timer.touches) this.world.touch();
        timer.callback();
        return;
    }
  }
}

/** A clock that reads the wall clock: what a client that misuses Date.now() would see. */
export function wallClockView(clock: SimProcessClock): Clock {
  return {
    now: () => clock.wallNow(),
    setTimeout: (callback, delayMs) => clock.setTimeout(callback, delayMs),
    clearTimeout: (handle) => clock.clearTimeout(handle),
  };
}
