// A priority queue of timed callbacks ordered by (time, sequence). The sequence number breaks ties
// in insertion order, so two events at the same virtual millisecond always run in the same order
// and a run is exactly reproducible.

export interface ScheduledEvent {
  readonly timeMs: number;
  readonly sequence: number;
  readonly run: () => void;
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
    if (!Number.isFinite(timeMs)) throw new RangeError(`event time must be finite, got ${timeMs}`);
    const event: ScheduledEvent = { timeMs, sequence: this.nextSequence++, run };
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

function before(x: ScheduledEvent, y: ScheduledEvent): boolean {
  return x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.sequence < y.sequence);
}
