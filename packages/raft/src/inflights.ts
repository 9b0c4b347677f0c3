/**
 * The AppendEntries messages in flight to one follower, as a ring buffer of (last index, bytes).
 * Bounded both by message count and by payload bytes, so a fast leader cannot bury a slow
 * follower (or the network) under an unbounded pipeline.
 */
export class Inflights {
  private readonly lastIndexes: number[];
  private readonly sizes: number[];
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {
    this.lastIndexes = new Array<number>(maxMessages).fill(0);
    this.sizes = new Array<number>(maxMessages).fill(0);
  }

  /** Records a message whose last entry is `lastIndex`. Callers check full() first. */
  add(lastIndex: number, bytes: number): void {
    if (this.count === this.maxMessages) throw new Error("inflights: add on a full window");
    const slot = (this.start + this.count) % this.maxMessages;
    this.lastIndexes[slot] = lastIndex;
    this.sizes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is ≤ `index` (they were acknowledged). */
  freeLE(index: number): void {
    while (this.count > 0 && this.lastIndexes[this.start]! <= index) {
      this.bytes -= this.sizes[this.start]!;
      this.start = (this.start + 1) % this.maxMessages;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  full(): boolean {
    return this.count >= this.maxMessages || this.bytes >= this.maxBytes;
  }

  size(): number {
    return this.count;
  }

  inflightBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
