import { entryBytes } from "@dlock/raft";
import type { Message, NodeId } from "@dlock/raft";

/**
 * Bounds the entry bytes of appends handed to the transport for one peer in one turn of the event
 * loop (the transport encodes what it is handed in the next turn). A follower that turns to
 * replicate after an install or a partition is sent a whole window at once: 2 MiB of entries took
 * a loaded leader ~100 ms to encode, two heartbeat intervals. What is over the budget is held and
 * handed over in later turns, a budget per turn.
 *
 * Per-peer order is kept: once something is held for a peer, every later message to it (a
 * heartbeat too) is held behind it. The first append of a turn always passes, however large, so
 * an entry bigger than the budget still goes. Messages to other peers are never held.
 */
export class AppendPacer {
  private readonly turnBytesMax: number;
  /** Entry bytes handed over per peer since the turn began. */
  private readonly spentBytes = new Map<NodeId, number>();
  /** Held messages in send order, and the peers they are for. */
  private held: Message[] = [];
  private readonly heldPeers = new Set<NodeId>();

  constructor(turnBytesMax: number) {
    this.turnBytesMax = turnBytesMax;
  }

  /** The messages to hand over now (`messages` itself when nothing is held); holds the rest. */
  admit(messages: readonly Message[]): readonly Message[] {
    let now: Message[] | null = null;
    for (let at = 0; at < messages.length; at++) {
      const message = messages[at]!;
      if (this.mustHold(message)) {
        now ??= messages.slice(0, at);
        this.held.push(message);
        this.heldPeers.add(message.to);
      } else if (now !== null) {
        now.push(message);
      }
    }
    return now ?? messages;
  }

  /** A new turn: every peer's budget starts over, and held messages go out within it. */
  nextTurn(): readonly Message[] {
    this.spentBytes.clear();
    if (this.held.length === 0) return this.held;
    const held = this.held;
    this.held = [];
    this.heldPeers.clear();
    return this.admit(held);
  }

  holding(): boolean {
    return this.held.length > 0;
  }

  private mustHold(message: Message): boolean {
    if (this.heldPeers.has(message.to)) return true;
    if (message.type !== "append" || message.entries.length === 0) return false;
    let bytes = 0;
    for (const entry of message.entries) bytes += entryBytes(entry);
    const spent = this.spentBytes.get(message.to) ?? 0;
    if (spent > 0 && spent + bytes > this.turnBytesMax) return true;
    this.spentBytes.set(message.to, spent + bytes);
    return false;
  }
}
