// A priority queue of timed callbacks ordered by (time, sequence). The sequence number breaks ties
// in insertion order, so two events at the same virtual millisecond always run in the same order
// and a run is exactly reproducible.

export interface ScheduledEvent {
  readonly timeMs: number;
  readonly sequence: number;
  run(): void;
}

/**
 * An event object that carries its own work (a timer, a message in flight): queued as it is, so
 * the hot kinds of event cost one object each, not an object and a closure. The queue sets
 * `timeMs` and `sequence` when it is pushed.
 */
export abstract class QueuedEvent implements ScheduledEvent {
  timeMs = 0;
  sequence = 0;
  abstract run(): void;
}

export class EventQueue {
  /**
   * heap[0 .. count) is the heap; the array never shrinks (slots past `count` are cleared), so a
   * queue whose size goes up and down does not reallocate it again and again.
   */
  private readonly heap: (ScheduledEvent | undefined)[] = [];
  private count = 0;
  private nextSequence = 0;

  get size(): number {
    return this.count;
  }

  push(timeMs: number, run: () => void): void {
    checkTime(timeMs);
    this.insert({ timeMs, sequence: this.nextSequence++, run });
  }

  /** Queues `event` itself at `timeMs` (in the same order as push would). */
  pushEvent(timeMs: number, event: QueuedEvent): void {
    checkTime(timeMs);
    event.timeMs = timeMs;
    event.sequence = this.nextSequence++;
    this.insert(event);
  }

  private insert(event: ScheduledEvent): void {
    const heap = this.heap as ScheduledEvent[];
    let i = this.count++;
    if (i === heap.length) heap.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!; // parent < i < count: a heap slot
      if (!before(event, above)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = event;
  }

  peekTime(): number | undefined {
    return this.count > 0 ? (this.heap[0] as ScheduledEvent).timeMs : undefined;
  }

  pop(): ScheduledEvent | undefined {
    if (this.count === 0) return undefined;
    const heap = this.heap as ScheduledEvent[];
    // Slots 0..count - 1 hold events, and count > 0 here.
    const top = heap[0]!;
    const n = --this.count;
    const last = heap[n]!;
    this.heap[n] = undefined;
    if (n > 0) {
      let i = 0;
      while (true) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && before(heap[right]!, heap[left]!) ? right : left;
        const below = heap[child]!; // child < n: a heap slot
        if (!before(below, last)) break;
        heap[i] = below;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}

function checkTime(timeMs: number): void {
  if (!Number.isFinite(timeMs)) throw new RangeError(`event time must be finite, got ${timeMs}`);
}

function before(x: ScheduledEvent, y: ScheduledEvent): boolean {
  return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.sequence < y.sequence);
}
