import type { SimWorld } from "../world.js";

/** How often a drain lets the real event loop turn (its timers, I/O) as well. */
const DRAINS_PER_EVENT_LOOP_TURN = 1024;

const RESOLVED = Promise.resolve();

/**
 * The lock simulator runs real promise-based code (the Locker, the request handler, RaftHost) on
 * the world's virtual time. A Node process runs every pending promise continuation before its
 * next I/O or timer callback; the simulator does the same: after an event that entered such code
 * (marked with `touch()`), it lets the microtask queue drain completely before the next event.
 * Work a process hands to `immediate()` (its setImmediate) runs next, at the same instant, each
 * after the continuations queued before it, and before any later event. Virtual time does not
 * move meanwhile, and the order of continuations is fixed by the program, so runs stay exactly
 * reproducible.
 *
 * A drain is one process.nextTick, not a turn of the event loop: Node runs a tick only once the
 * microtask queue is empty, and a turn (setImmediate) costs several times as much and, on a
 * loaded machine, often the CPU too. That is exact as long as the simulated code queues no ticks
 * of its own (none does: its deferred work goes through `immediate()`). Every
 * DRAINS_PER_EVENT_LOOP_TURN-th drain is a turn (as exact), so real I/O is not starved.
 */
export class AsyncWorld {
  private touched = false;
  /**
   * Immediates waiting: immediates[immediateAt .. immediateEnd). The array is reused once it
   * runs empty (a new one would grow its storage again with the next few pushes).
   */
  private readonly immediates: ((() => void) | undefined)[] = [];
  private immediateAt = 0;
  private immediateEnd = 0;
  /** Immediates run so far (they are not world events). */
  immediatesRun = 0;
  private drains = 0;
  private readonly pending = (): boolean => this.touched || this.immediateAt < this.immediateEnd;

  constructor(readonly world: SimWorld) {}

  get nowMs(): number {
    return this.world.nowMs;
  }

  /** The event being run entered promise-based code: drain continuations after it. */
  touch(): void {
    this.touched = true;
  }

  /**
   * Runs `work` at this instant once the continuations queued so far have run, before the next
   * world event: Node's setImmediate, without an event of its own.
   */
  immediate(work: () => void): void {
    if (this.immediateEnd === this.immediates.length) this.immediates.push(work);
    else this.immediates[this.immediateEnd] = work;
    this.immediateEnd++;
  }

  /**
   * Runs events until virtual time `untilMs` (or until `stop()` returns true, checked after every
   * event, every drain and every immediate). Returns false if stopped.
   */
  runUntil(untilMs: number, stop?: () => boolean): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const world = this.world;
      const predicate = stop === undefined ? this.pending : () => this.pending() || stop();
      // Runs until a touched event, then returns: the continuations it started run first, and
      // `resume` carries on once they all did (a loop, not an await: no promise per drain).
      const step = (): void => {
        for (;;) {
          if (this.touched) {
            this.touched = false;
            if (++this.drains % DRAINS_PER_EVENT_LOOP_TURN === 0) setImmediate(resume);
            // A reaction queued behind those the event queued (a tick queued from a tick would
            // run before them); a promise reaction costs less than Node's queueMicrotask.
            else void RESOLVED.then(tickResume);
            return;
          }
          if (this.immediateAt < this.immediateEnd) {
            this.runImmediate();
            if (stop?.()) break;
            continue;
          }
          const finished = world.runUntil(untilMs, predicate);
          if (this.touched) continue;
          if (stop?.()) break;
          if (finished) {
            resolve(true);
            return;
          }
        }
        resolve(false);
      };
      const resume = (): void => {
        try {
          if (stop?.()) resolve(false);
          else step();
        } catch (error) {
          reject(error as Error);
        }
      };
      // Node runs ticks only once the microtask queue is empty.
      const tickResume = (): void => process.nextTick(resume);
      try {
        step();
      } catch (error) {
        reject(error as Error);
      }
    });
  }

  private runImmediate(): void {
    const work = this.immediates[this.immediateAt] as () => void;
    this.immediates[this.immediateAt++] = undefined;
    if (this.immediateAt === this.immediateEnd) {
      this.immediateAt = 0;
      this.immediateEnd = 0;
    }
    this.immediatesRun++;
    work();
  }
}

/**
 * Resolves after every queued promise continuation (and those they queue) has run: Node runs
 * ticks only when the microtask queue is empty (exact unless the code queues ticks itself).
 */
export function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}
