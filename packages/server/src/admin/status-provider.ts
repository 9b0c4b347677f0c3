// What the admin HTTP server needs from the node. The host implements it; tests use fakes.
import type { NodeId, Role } from "@dlock/raft";
import type { EventLoopLagSnapshot } from "./event-loop-lag.js";

/** One member of the group as this node sees it. */
export interface NodeMemberStatus {
  id: NodeId;
  /** "voter" or "learner" per the current configuration. */
  kind: "voter" | "learner";
  /** The member's role when this node knows it (itself, or the leader), else "unknown". */
  role: Role | "unknown";
  /**
   * True when this node has recent evidence that the member is alive: itself, a follower that
   * answered the leader within an election timeout, or an open peer connection.
   */
  healthy: boolean;
  /** Highest log index known replicated on the member (leader only), else null. */
  matchIndex: number | null;
  /** Peer address from the configuration, for operators. */
  peerAddress?: string;
  /** Advertised client address, for operators and redirects. */
  clientAddress?: string;
}

/** A consistent snapshot of this node's Raft and lock-table progress. */
export interface NodeStatusSnapshot {
  nodeId: NodeId;
  role: Role;
  term: number;
  /** Current leader, or null when none is known. */
  leader: NodeId | null;
  /** Highest log index known committed. */
  commitIndex: number;
  /** Highest log index applied to the lock table (applied ≤ commit). */
  appliedIndex: number;
  members: NodeMemberStatus[];
  /**
   * False while this node cannot write to its data folder (it refuses requests and retries) or
   * after a fatal error; absent means healthy.
   */
  healthy?: boolean;
  /** Why it is not healthy. */
  failure?: string | null;
  /** The Raft log on this node's disk: what compaction keeps bounded. */
  raftLog?: RaftLogStatus;
  /** How late this process's timers fire (a stalled loop delays heartbeats and votes). */
  eventLoopLag?: EventLoopLagSnapshot;
}

export interface RaftLogStatus {
  /** Index of the snapshot the log starts after (0: none yet), and its size in bytes. */
  snapshotIndex: number;
  snapshotBytes: number;
  /** Entries stored above the snapshot. */
  entries: number;
  /** Stored bytes of those entries. */
  bytes: number;
  /** Snapshots this node took (compactions) and received from a leader, since it started. */
  snapshotsTaken: number;
  snapshotsInstalled: number;
}

export interface AdminStatusProvider {
  /** Cheap and synchronous: called on every /status, /readyz and /metrics request. */
  status(): NodeStatusSnapshot;
  /**
   * Resolves when storage accepts a write (for /healthz), rejects with the reason otherwise.
   * The admin server bounds the wait with its own timeout.
   */
  checkStorageWritable(): Promise<void>;
}
