import type { QueuedEvent } from "./event-queue.js";
import { EventQueue } from "./event-queue.js";
import { Hasher } from "./hash.js";
import { Prng } from "./prng.js";

/**
 * The simulated world: virtual time in milliseconds, the event queue and the root PRNG. Everything
 * that happens in a run is an event scheduled here, so a run is a pure function of its seed.
 */
export class SimWorld {
  readonly random: Prng;
  /** Rolling hash of what happened; equal seeds must give equal hashes. */
  readonly trace = new Hasher(0x7ace);
  private readonly queue = new EventQueue();
  private currentMs = 0;
  private eventsRun = 0;

  constructor(seed: number) {
    this.random = new Prng(seed);
  }

  get nowMs(): number {
    return this.currentMs;
  }

  get eventCount(): number {
    return this.eventsRun;
  }

  /** Run `fn` after `delayMs` (≥ 0) of virtual time. */
  after(delayMs: number, fn: () => void): void {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be ≥ 0, got ${delayMs}`);
    this.queue.push(this.currentMs + delayMs, fn);
  }

  at(timeMs: number, fn: () => void): void {
    this.queue.push(Math.max(timeMs, this.currentMs), fn);
  }

  /** Like after(), for an event object that runs itself (no closure per event). */
  afterEvent(delayMs: number, event: QueuedEvent): void {
    if (!(delayMs >= 0)) throw new RangeError(`delay must be ≥ 0, got ${delayMs}`);
    this.queue.pushEvent(this.currentMs + delayMs, event);
  }

  /** Like at(), for an event object that runs itself. */
  atEvent(timeMs: number, event: QueuedEvent): void {
    this.queue.pushEvent(Math.max(timeMs, this.currentMs), event);
  }

  /**
   * Run events in order until virtual time would pass `untilMs` or `stop()` returns true (checked
   * after every event). Time ends at `untilMs` unless stopped earlier. Returns false if stopped.
   */
  runUntil(untilMs: number, stop?: () => boolean): boolean {
    while (true) {
      const next = this.queue.peekTime();
      if (next === undefined || next > untilMs) break;
      const event = this.queue.pop()!;
      this.currentMs = event.timeMs;
      this.eventsRun++;
      event.run();
      if (stop?.()) return false;
    }
    this.currentMs = Math.max(this.currentMs, untilMs);
    return true;
  }
}
