// A bounded FIFO of outgoing Raft messages for one peer, capped in messages and in bytes. When
// full, the oldest messages are dropped: Raft tolerates loss and retransmits what matters, while
// newer messages (higher terms, later commit indexes) are the useful ones. Drops are counted, not
// logged, since under a partition they happen continuously.
import type { Message } from "@dlock/raft";

export class SendQueue {
  readonly capacity: number;
  readonly bytesMax: number;
  private items: (Message | undefined)[];
  private sizes: number[];
  private head = 0;
  private count = 0;
  private queuedBytes = 0;
  /** Total messages dropped because the queue was full, since creation. */
  droppedTotal = 0;

  constructor(capacity: number, bytesMax = Number.MAX_SAFE_INTEGER) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`send queue capacity must be a positive integer, got ${capacity}`);
    }
    if (!Number.isSafeInteger(bytesMax) || bytesMax < 1) {
      throw new RangeError(`send queue bytesMax must be a positive integer, got ${bytesMax}`);
    }
    this.capacity = capacity;
    this.bytesMax = bytesMax;
    this.items = new Array<Message | undefined>(capacity);
    this.sizes = new Array<number>(capacity).fill(0);
  }

  get length(): number {
    return this.count;
  }

  /** Sum of the sizes given to push() of the messages queued now. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Appends `message` of `bytes` bytes; returns how many of the oldest messages were dropped to
   * make room. A message larger than bytesMax alone is still queued (into an empty queue).
   */
  push(message: Message, bytes = 0): number {
    let dropped = 0;
    while (
      this.count === this.capacity ||
      (this.count > 0 && this.queuedBytes + bytes > this.bytesMax)
    ) {
      this.items[this.head] = undefined;
      this.queuedBytes -= this.sizes[this.head]!; // head < capacity, the length of sizes
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      dropped++;
    }
    const slot = (this.head + this.count) % this.capacity;
    this.items[slot] = message;
    this.sizes[slot] = bytes;
    this.queuedBytes += bytes;
    this.count++;
    this.droppedTotal += dropped;
    return dropped;
  }

  /** Removes and returns every queued message, oldest first. */
  drain(): Message[] {
    const out = new Array<Message>(this.count);
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) % this.capacity;
      out[i] = this.items[slot] as Message;
      this.items[slot] = undefined;
    }
    this.head = 0;
    this.count = 0;
    this.queuedBytes = 0;
    return out;
  }

  /** Drops every queued message; returns how many there were (not counted in droppedTotal). */
  clear(): number {
    const count = this.count;
    this.items = new Array<Message | undefined>(this.capacity);
    this.head = 0;
    this.count = 0;
    this.queuedBytes = 0;
    return count;
  }
}
