// Virtual time for tests: timers fire only when the test advances the clock, in deadline order,
// with the promise jobs they start run to completion before the next timer fires.
import type { Clock, TimerHandle } from "../../src/internal.js";

interface Timer {
  id: number;
  atMs: number;
  callback: () => void;
}

/** Lets every pending promise job (and what they start) run, without real waiting. */
export async function flushPromises(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeClock implements Clock {
  private nowMs: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(startMs = 1_000) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { id, atMs: this.nowMs + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.nowMs + ms);
  }

  async advanceTo(targetMs: number): Promise<void> {
    await flushPromises();
    for (;;) {
      const next = this.nextTimer();
      if (next === null || next.atMs > targetMs) break;
      this.timers.delete(next.id);
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.callback();
      await flushPromises();
    }
    this.nowMs = Math.max(this.nowMs, targetMs);
    await flushPromises();
  }

  /** Advances until `condition()` holds (checked after every timer), up to `limitMs` of virtual time. */
  async advanceUntil(condition: () => boolean, limitMs = 600_000): Promise<void> {
    const endMs = this.nowMs + limitMs;
    await flushPromises();
    while (!condition()) {
      const next = this.nextTimer();
      if (next === null || next.atMs > endMs) {
        throw new Error(`condition not reached within ${limitMs} ms of virtual time`);
      }
      this.timers.delete(next.id);
      this.nowMs = Math.max(this.nowMs, next.atMs);
      next.callback();
      await flushPromises();
    }
  }

  private nextTimer(): Timer | null {
    let best: Timer | null = null;
    for (const timer of this.timers.values()) {
      if (
        best === null ||
        timer.atMs < best.atMs ||
        (timer.atMs === best.atMs && timer.id < best.id)
      ) {
        best = timer;
      }
    }
    return best;
  }
}
