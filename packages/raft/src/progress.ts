import { Inflights } from "./inflights.js";
import type { ProgressState } from "./types.js";

/**
 * The leader's view of one follower's log (etcd's tracker.Progress).
 *
 * - probe: we do not know where the follower's log matches ours; send one append at a time and
 *   wait for its answer (probeSent) before sending the next.
 * - replicate: the follower is known to match up to `match`; stream appends optimistically,
 *   advancing `next` as we send, bounded by the inflight window.
 * - snapshot: the follower needs the snapshot at `pendingSnapshot`; no appends until it has it.
 *
 * Invariants: match < next; in replicate, every index in [match+1, next) was sent.
 */
export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  state: ProgressState = "probe";
  /** In probe: an append is outstanding, wait for its answer (or a heartbeat response). */
  probeSent = false;
  /** Heard from within the current election timeout (check-quorum). */
  recentActive = false;
  learner: boolean;
  readonly inflights: Inflights;
  /** In snapshot: index of the snapshot being transferred. */
  pendingSnapshot = 0;
  /** In snapshot: bytes of it the follower acknowledged (the next chunk starts here). */
  snapshotOffset = 0;
  /** In snapshot: leader ticks since the last acknowledged chunk (retransmit trigger). */
  snapshotStalledTicks = 0;
  /** In snapshot: a heartbeat response arrived since the last chunk was sent (it is reachable). */
  snapshotHeardFrom = false;
  /** The commit index last sent to this follower in an append. */
  sentCommit = 0;
  /**
   * Leader ticks since this follower last acknowledged progress while something was in flight
   * (the probe, or the replicate window). Only an overdue append is resent: one that is merely
   * slow (a follower busy writing) must not go out again on every heartbeat answer.
   */
  stalledTicks = 0;

  constructor(
    next: number,
    learner: boolean,
    inflightMessagesMax: number,
    inflightBytesMax: number,
  ) {
    this.next = next;
    this.learner = learner;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
  }

  becomeProbe(): void {
    // After a snapshot, the follower has at least the snapshot: resume right after it.
    this.next =
      this.state === "snapshot"
        ? Math.max(this.match + 1, this.pendingSnapshot + 1)
        : this.match + 1;
    this.state = "probe";
    this.probeSent = false;
    this.stalledTicks = 0;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.probeSent = false;
    this.stalledTicks = 0;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.state = "snapshot";
    this.pendingSnapshot = snapshotIndex;
    this.snapshotOffset = 0;
    this.snapshotStalledTicks = 0;
    this.snapshotHeardFrom = false;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** An acknowledgement of `index`: returns true if it moved match forward. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      this.probeSent = false;
      this.stalledTicks = 0;
      updated = true;
    }
    if (this.next < index + 1) this.next = index + 1;
    return updated;
  }

  /**
   * A rejection of the append at prevIndex `rejected`, with the follower's hint that its log may
   * match up to `matchHint`. Returns false for a stale rejection (one we already acted on).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Records that entries up to `lastIndex` (payload `bytes`) were just sent. */
  sentEntries(entryCount: number, lastIndex: number, bytes: number): void {
    if (this.state === "replicate") {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
      this.stalledTicks = 0;
    }
  }

  /** One leader tick: counts how long an in-flight probe or window has gone unacknowledged. */
  tickStalled(): void {
    const waiting =
      (this.state === "probe" && this.probeSent) ||
      (this.state === "replicate" && this.inflights.size() > 0);
    this.stalledTicks = waiting ? this.stalledTicks + 1 : 0;
  }

  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
