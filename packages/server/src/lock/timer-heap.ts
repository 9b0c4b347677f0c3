/**
 * Ids the heap has room for at first; it doubles when an id does not fit.
 * Small: up to 8 numbers live in V8's heap, with no backing store to allocate and count as
 * external memory (which brings GCs forward); a node starts with an empty table, and the
 * simulator starts thousands of them.
 */
const IDS_INITIAL = 8;

/**
 * A binary min-heap of small integer ids on their due times, all in typed arrays: a million
 * timers are three arrays, not a million objects for the GC to walk. Moving a deadline (a
 * refresh) costs O(log n) and allocates nothing, and no stale entries pile up. Ties keep no
 * particular order but the same operations always give the same order (it is deterministic).
 * The caller allocates the ids (dense, reused).
 */
export class TimerHeap {
  private heap = new Int32Array(IDS_INITIAL);
  private length = 0;
  private due = new Float64Array(IDS_INITIAL);
  /** Position of each id in `heap`, -1 when it is not in it. */
  private position = new Int32Array(IDS_INITIAL).fill(-1);

  get size(): number {
    return this.length;
  }

  /** The id due first, or -1 when empty. */
  peek(): number {
    return this.length === 0 ? -1 : this.heap[0]!;
  }

  dueMsOf(id: number): number {
    return this.due[id]!;
  }

  has(id: number): boolean {
    return id < this.position.length && this.position[id]! >= 0;
  }

  /** Inserts `id` due at `dueMs`, or moves it there if it is already in the heap. */
  upsert(id: number, dueMs: number): void {
    if (id >= this.position.length) this.grow(id);
    this.due[id] = dueMs;
    const at = this.position[id]!;
    if (at >= 0) {
      this.fix(at);
      return;
    }
    if (this.length === this.heap.length) this.growHeap();
    this.heap[this.length] = id;
    this.position[id] = this.length;
    this.length++;
    this.up(this.length - 1);
  }

  remove(id: number): void {
    if (!this.has(id)) return;
    const at = this.position[id]!;
    this.position[id] = -1;
    this.length--;
    if (at === this.length) return;
    const last = this.heap[this.length]!;
    this.heap[at] = last;
    this.position[last] = at;
    this.fix(at);
  }

  clear(): void {
    for (let i = 0; i < this.length; i++) this.position[this.heap[i]!] = -1;
    this.length = 0;
  }

  private grow(id: number): void {
    let capacity = this.position.length;
    while (capacity <= id) capacity *= 2;
    const due = new Float64Array(capacity);
    due.set(this.due);
    this.due = due;
    const position = new Int32Array(capacity).fill(-1);
    position.set(this.position);
    this.position = position;
  }

  private growHeap(): void {
    const heap = new Int32Array(this.heap.length * 2);
    heap.set(this.heap);
    this.heap = heap;
  }

  private fix(at: number): void {
    const due = this.due;
    if (at > 0 && due[this.heap[at]!]! < due[this.heap[(at - 1) >> 1]!]!) this.up(at);
    else this.down(at);
  }

  private up(at: number): void {
    const { heap, due, position } = this;
    const id = heap[at]!;
    const dueMs = due[id]!;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = heap[parent]!;
      if (due[above]! <= dueMs) break;
      heap[at] = above;
      position[above] = at;
      at = parent;
    }
    heap[at] = id;
    position[id] = at;
  }

  private down(at: number): void {
    const { heap, due, position } = this;
    const length = this.length;
    const id = heap[at]!;
    const dueMs = due[id]!;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && due[heap[right]!]! < due[heap[left]!]! ? right : left;
      const below = heap[child]!;
      if (due[below]! >= dueMs) break;
      heap[at] = below;
      position[below] = at;
      at = child;
    }
    heap[at] = id;
    position[id] = at;
  }
}
