// Readiness: a node is ready to serve when it knows a leader and has applied at least the commit
// index it knew when it discovered that leader. Before that, reads served by this node could be
// behind what the cluster acknowledged earlier, and a load balancer should not send it traffic.
// Pure: fed with status snapshots; no clock, no I/O.
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

export class ReadinessTracker {
  private leader: NodeId | null = null;
  private term = 0;
  /** Commit index observed when the current leader was first seen; the catch-up target. */
  private targetIndex = 0;

  /**
   * Feed a status snapshot and get the readiness it implies. Calling it more often (on every
   * leader change, as the host may) only makes the target more precise: a target recorded later
   * is never lower, so readiness is conservative either way.
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
    if (status.leader !== this.leader || status.term !== this.term) {
      this.leader = status.leader;
      this.term = status.term;
      this.targetIndex = Math.max(this.targetIndex, status.commitIndex);
    }
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
