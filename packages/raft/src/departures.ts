import type { NodeId } from "./types.js";

/** One voter whose removal committed, and what the leader waits for before it forgets the node. */
interface Departure {
  /** Index of the change that removed it. */
  configIndex: number;
  /** The readContext of heartbeats that carry it a commit index ≥ configIndex. */
  context: number;
  /** Ticks left before the leader gives up on it (a dead node must not be tracked forever). */
  ticksLeft: number;
}

/**
 * Leader only: voters whose removal committed but which may not know it yet. A removed voter that
 * misses the one round carrying the commit would time out and campaign for ever (Raft thesis
 * §4.2.3), so the leader keeps heartbeating it until it echoes a heartbeat that carried the commit
 * (its `context`), or until `ticksLeft` runs out.
 */
export class Departures {
  private readonly byId = new Map<NodeId, Departure>();
  /**
   * Nodes this leader gave up on once: a removed node that keeps campaigning but cannot be reached
   * would otherwise log "telling…" and "stopped…" every ten election timeouts, for ever.
   */
  private readonly gaveUpOn = new Set<NodeId>();

  start(id: NodeId, departure: Departure): void {
    this.byId.set(id, departure);
  }

  has(id: NodeId): boolean {
    return this.byId.has(id);
  }

  get(id: NodeId): Readonly<Departure> | undefined {
    return this.byId.get(id);
  }

  finish(id: NodeId): void {
    this.byId.delete(id);
  }

  /** Counts one tick; returns the ids whose time ran out (and forgets them). */
  tick(): NodeId[] {
    const expired: NodeId[] = [];
    for (const [id, departure] of this.byId) {
      departure.ticksLeft--;
      if (departure.ticksLeft <= 0) expired.push(id);
    }
    for (const id of expired) this.byId.delete(id);
    return expired;
  }

  /** Whether this leader already gave up on `id` once (its log lines go to debug after that). */
  gaveUpBefore(id: NodeId): boolean {
    return this.gaveUpOn.has(id);
  }

  /** Remembers that this leader gave up on `id`; call after logging the first give-up. */
  markGaveUp(id: NodeId): void {
    if (this.gaveUpOn.size >= GAVE_UP_ON_MAX) this.gaveUpOn.clear();
    this.gaveUpOn.add(id);
  }

  clear(): void {
    this.byId.clear();
    this.gaveUpOn.clear();
  }
}

/** Removed nodes remembered as given up on; past it the memory starts over (ids are few). */
const GAVE_UP_ON_MAX = 64;
