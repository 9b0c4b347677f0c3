/** An item of a TimerHeap: the heap keeps `heapIndex` current (-1 when not in the heap). */
export interface HeapItem {
  dueMs: number;
  heapIndex: number;
}

/**
 * A binary min-heap on dueMs with in-place re-keying: moving a deadline (a refresh) costs
 * O(log n) and allocates nothing, and no stale entries pile up. Ties keep no particular order but
 * the same operations always give the same order (it is deterministic).
 */
export class TimerHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Inserts `item`, or moves it if it is already in the heap, to its (new) dueMs. */
  upsert(item: T): void {
    if (item.heapIndex >= 0) {
      this.fix(item.heapIndex);
      return;
    }
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0) return;
    const last = this.items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.fix(index);
  }

  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items.length = 0;
  }

  private fix(index: number): void {
    if (index > 0 && this.items[index]!.dueMs < this.items[(index - 1) >> 1]!.dueMs) this.up(index);
    else this.down(index);
  }

  private up(index: number): void {
    const items = this.items;
    const item = items[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = items[parent]!;
      if (above.dueMs <= item.dueMs) break;
      items[index] = above;
      above.heapIndex = index;
      index = parent;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  private down(index: number): void {
    const items = this.items;
    const length = items.length;
    const item = items[index]!;
    while (true) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      const child = right < length && items[right]!.dueMs < items[left]!.dueMs ? right : left;
      const below = items[child]!;
      if (below.dueMs >= item.dueMs) break;
      items[index] = below;
      below.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
