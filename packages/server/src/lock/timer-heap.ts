import { Float64Pages, Int32Pages } from "./paged-array.js";

/**
 * A binary min-heap of small integer ids on their due times, all in paged typed arrays: a million
 * timers are three arrays, not a million objects for the GC to walk, grown a page at a time.
 * Moving a deadline (a refresh) costs O(log n) and allocates nothing, and no stale entries pile up. Ties keep no
 * particular order but the same operations always give the same order (it is deterministic).
 * The caller allocates the ids (dense, reused).
 */
export class TimerHeap {
  private readonly heap = new Int32Pages();
  private length = 0;
  private readonly due = new Float64Pages();
  /** Position of each id in `heap`, -1 when it is not in it. */
  private readonly position = new Int32Pages(-1);

  get size(): number {
    return this.length;
  }

  /** The id due first, or -1 when empty. */
  peek(): number {
    return this.length === 0 ? -1 : this.heap.at(0);
  }

  dueMsOf(id: number): number {
    return this.due.at(id);
  }

  has(id: number): boolean {
    return id < this.position.capacity && this.position.at(id) >= 0;
  }

  /** Inserts `id` due at `dueMs`, or moves it there if it is already in the heap. */
  upsert(id: number, dueMs: number): void {
    if (id >= this.position.capacity) {
      this.due.reserve(id);
      this.position.reserve(id);
    }
    this.due.put(id, dueMs);
    const at = this.position.at(id);
    if (at >= 0) {
      this.fix(at);
      return;
    }
    this.heap.reserve(this.length);
    this.heap.put(this.length, id);
    this.position.put(id, this.length);
    this.length++;
    this.up(this.length - 1);
  }

  remove(id: number): void {
    if (!this.has(id)) return;
    const at = this.position.at(id);
    this.position.put(id, -1);
    this.length--;
    if (at === this.length) return;
    const last = this.heap.at(this.length);
    this.heap.put(at, last);
    this.position.put(last, at);
    this.fix(at);
  }

  clear(): void {
    for (let i = 0; i < this.length; i++) this.position.put(this.heap.at(i), -1);
    this.length = 0;
  }

  private fix(at: number): void {
    const { heap, due } = this;
    if (at > 0 && due.at(heap.at(at)) < due.at(heap.at((at - 1) >> 1))) this.up(at);
    else this.down(at);
  }

  private up(at: number): void {
    const { heap, due, position } = this;
    const id = heap.at(at);
    const dueMs = due.at(id);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = heap.at(parent);
      if (due.at(above) <= dueMs) break;
      heap.put(at, above);
      position.put(above, at);
      at = parent;
    }
    heap.put(at, id);
    position.put(id, at);
  }

  private down(at: number): void {
    const { heap, due, position } = this;
    const length = this.length;
    const id = heap.at(at);
    const dueMs = due.at(id);
    for (;;) {
      const left = 2 * at + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && due.at(heap.at(right)) < due.at(heap.at(left)) ? right : left;
      const below = heap.at(child);
      if (due.at(below) >= dueMs) break;
      heap.put(at, below);
      position.put(below, at);
      at = child;
    }
    heap.put(at, id);
    position.put(id, at);
  }
}
