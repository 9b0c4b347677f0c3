import type { SimWorld } from "../world.js";

/**
 * The lock simulator runs real promise-based code (the Locker, the request handler) on the
 * world's virtual time. A Node process runs every pending promise continuation before its next
 * I/O or timer callback; the simulator does the same: after an event that entered such code
 * (marked with `touch()`), it lets the microtask queue drain completely before the next event.
 * Virtual time does not move while it drains, and the order of continuations is fixed by the
 * program, so runs stay exactly reproducible.
 */
export class AsyncWorld {
  private touched = false;
  private readonly stopWhenTouched = (): boolean => this.touched;

  constructor(readonly world: SimWorld) {}

  get nowMs(): number {
    return this.world.nowMs;
  }

  /** The event being run entered promise-based code: drain continuations after it. */
  touch(): void {
    this.touched = true;
  }

  /**
   * Runs events until virtual time `untilMs` (or until `stop()` returns true, checked after every
   * event and every drain). Returns false if stopped.
   */
  async runUntil(untilMs: number, stop?: () => boolean): Promise<boolean> {
    const world = this.world;
    const predicate = stop === undefined ? this.stopWhenTouched : () => this.touched || stop();
    for (;;) {
      const finished = world.runUntil(untilMs, predicate);
      if (this.touched) {
        this.touched = false;
        await drainMicrotasks();
      }
      if (stop?.()) return false;
      if (finished && !this.touched) return true;
    }
  }
}

/** Resolves after every queued promise continuation (and those they queue) has run. */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
