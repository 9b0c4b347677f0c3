// Readiness: a node is ready to serve when it knows a leader and has applied at least the commit
// index it knew when it discovered that leader. Before that, reads served by this node could be
// behind what the cluster acknowledged earlier, and a load balancer should not send it traffic.
// Pure: fed with leader changes (by the server, as the host sees them) and status snapshots (by
// each /readyz); no clock, no I/O.
import type { NodeId } from "@dlock/raft";
import type { NodeStatusSnapshot } from "./status-provider.js";

export type Readiness =
  | { ready: true; leader: NodeId; appliedIndex: number }
  | {
      ready: false;
      reason: "no-leader" | "catching-up" | "unhealthy" | "not-a-member";
      leader: NodeId | null;
      appliedIndex: number;
      /** Index the node must apply before it is ready (catching-up only). */
      targetIndex: number | null;
    };

/** What the node knew when it saw a leader (or lost it): the host's role-change event. */
export interface LeaderSeen {
  leader: NodeId | null;
  term: number;
  /** The node's commit index at that moment. */
  commitIndex: number;
}

export class ReadinessTracker {
  private leader: NodeId | null = null;
  private term = 0;
  /** Commit index observed when the current leader was first seen; the catch-up target. */
  private targetIndex = 0;

  /**
   * Record a leader change when the host sees it. Without this the target would be taken at the
   * first status fed after the change (a /readyz), and a node long caught up would answer 503 if
   * that request landed between learning a commit and applying it (one Ready turn).
   */
  leaderSeen(seen: LeaderSeen): void {
    if (seen.leader === null) {
      this.leader = null;
      return;
    }
    if (seen.leader !== this.leader || seen.term !== this.term) {
      this.leader = seen.leader;
      this.term = seen.term;
      this.targetIndex = Math.max(this.targetIndex, seen.commitIndex);
    }
  }

  /**
   * Feed a status snapshot and get the readiness it implies. A leader the tracker has not been
   * told of (no role-change feed, or a change it missed) is recorded here, with the snapshot's
   * commit index as the target: later than the change itself, so never lower — conservative.
   */
  observe(status: NodeStatusSnapshot): Readiness {
    if (status.healthy === false) {
      // It refuses every request (its disk cannot be written): send traffic elsewhere.
      return {
        ready: false,
        reason: "unhealthy",
        leader: status.leader,
        appliedIndex: status.appliedIndex,
        targetIndex: null,
      };
    }
    if (!status.members.some((m) => m.id === status.nodeId)) {
      // A node that joins and is not added yet, or one that was removed: it serves nobody.
      return {
        ready: false,
        reason: "not-a-member",
        leader: status.leader,
        appliedIndex: status.appliedIndex,
        targetIndex: null,
      };
    }
    if (status.leader === null) {
      this.leader = null;
      return {
        ready: false,
        reason: "no-leader",
        leader: null,
        appliedIndex: status.appliedIndex,
        targetIndex: null,
      };
    }
    this.leaderSeen({ leader: status.leader, term: status.term, commitIndex: status.commitIndex });
    if (status.appliedIndex < this.targetIndex) {
      return {
        ready: false,
        reason: "catching-up",
        leader: status.leader,
        appliedIndex: status.appliedIndex,
        targetIndex: this.targetIndex,
      };
    }
    return { ready: true, leader: status.leader, appliedIndex: status.appliedIndex };
  }
}
