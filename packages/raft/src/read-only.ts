import type { NodeId } from "./types.js";

/** One ReadIndex round: requests that wait for the same heartbeat quorum. */
export interface ReadRound {
  /** Carried by the heartbeats of this round (readContext); unique per node, > 0. */
  context: number;
  /** Commit index when the newest request joined; reads are served once applied ≥ it. */
  index: number;
  requestIds: number[];
  /** Members that echoed this context (the leader included). */
  acks: Set<NodeId>;
}

/**
 * ReadIndex bookkeeping on the leader (thesis §6.4). Requests that arrive before the leader has
 * committed an entry of its term are held; the others join the open round, which stays joinable
 * until its heartbeats are handed out in a Ready (joining is safe until then: the confirmation still
 * happens after the request arrived). A quorum for a round confirms every earlier round too.
 */
export class ReadOnly {
  /** Requests waiting for the leader's first commit in its term. */
  held: number[] = [];
  private readonly rounds: ReadRound[] = [];
  private open: ReadRound | null = null;
  private nextContext = 1;

  /** Adds a request at commit index `index`; returns the round and whether it is new. */
  add(requestId: number, index: number, self: NodeId): { round: ReadRound; isNew: boolean } {
    if (this.open !== null) {
      this.open.requestIds.push(requestId);
      if (index > this.open.index) this.open.index = index;
      return { round: this.open, isNew: false };
    }
    const round: ReadRound = {
      context: this.newContext(),
      index,
      requestIds: [requestId],
      acks: new Set([self]),
    };
    this.rounds.push(round);
    this.open = round;
    return { round, isNew: true };
  }

  /** A readContext no round of this node uses; heartbeats that must be told apart take one. */
  newContext(): number {
    return this.nextContext++;
  }

  /** The open round's heartbeats are leaving: later requests start a new round. */
  seal(): void {
    this.open = null;
  }

  /** Records an ack; returns the round if it is still pending. */
  ack(context: number, from: NodeId): ReadRound | null {
    for (const round of this.rounds) {
      if (round.context === context) {
        round.acks.add(from);
        return round;
      }
    }
    return null;
  }

  /** Removes and returns every round up to and including `context`, oldest first. */
  releaseThrough(context: number): ReadRound[] {
    let count = 0;
    while (count < this.rounds.length && this.rounds[count]!.context <= context) count++;
    const released = this.rounds.splice(0, count);
    if (this.open !== null && this.open.context <= context) this.open = null;
    return released;
  }

  /** Context of the newest pending round (0 if none), sent with periodic heartbeats. */
  lastPendingContext(): number {
    return this.rounds.at(-1)?.context ?? 0;
  }

  pendingCount(): number {
    let count = this.held.length;
    for (const round of this.rounds) count += round.requestIds.length;
    return count;
  }

  /** Leadership is lost: every pending request fails. */
  dropAll(): number[] {
    const dropped = this.held;
    for (const round of this.rounds) for (const id of round.requestIds) dropped.push(id);
    this.held = [];
    this.rounds.length = 0;
    this.open = null;
    return dropped;
  }
}
