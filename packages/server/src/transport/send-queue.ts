// A bounded FIFO of outgoing Raft messages for one peer. When full, the oldest message is dropped:
// Raft tolerates loss and retransmits what matters, while newer messages (higher terms, later
// commit indexes) are the useful ones. Drops are counted, not logged, since under a partition they
// happen continuously.
import type { Message } from "@dlock/raft";

export class SendQueue {
  readonly capacity: number;
  private items: (Message | undefined)[];
  private head = 0;
  private count = 0;
  /** Total messages dropped because the queue was full, since creation. */
  droppedTotal = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`send queue capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.items = new Array<Message | undefined>(capacity);
  }

  get length(): number {
    return this.count;
  }

  /** Appends `message`; returns 1 when the oldest message had to be dropped to make room, else 0. */
  push(message: Message): number {
    if (this.count === this.capacity) {
      this.items[this.head] = message;
      this.head = (this.head + 1) % this.capacity;
      this.droppedTotal++;
      return 1;
    }
    this.items[(this.head + this.count) % this.capacity] = message;
    this.count++;
    return 0;
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
    return out;
  }

  clear(): void {
    this.items = new Array<Message | undefined>(this.capacity);
    this.head = 0;
    this.count = 0;
  }
}
