// The JSON a node's admin port answers on /status: the server builds it, the CLI, the local
// cluster and tools read it. Declared once here so that both sides cannot drift apart.
import type { TableLimitsStatus } from "./messages.js";

/** A node's Raft role (the same names as the Raft core's). */
export type NodeRole = "follower" | "preCandidate" | "candidate" | "leader";

/** One member of the group as the reporting node sees it. */
export interface NodeMemberStatus {
  id: string;
  /** "voter" or "learner" per the current configuration. */
  kind: "voter" | "learner";
  /** The member's role when this node knows it (itself, or the leader), else "unknown". */
  role: NodeRole | "unknown";
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

/** The Raft log on a node's disk: what compaction keeps bounded. */
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

/** How late a process's timers fire (a stalled loop delays heartbeats and votes). */
export interface EventLoopLagSnapshot {
  /** Recent: the larger of the last full window's figure and the current window's (10 s each). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The longest stall since the process started. */
  maxMsSinceStart: number;
}

/** A consistent snapshot of a node's Raft and lock-table progress. */
export interface NodeStatusSnapshot {
  nodeId: string;
  role: NodeRole;
  term: number;
  /** Current leader, or null when none is known. */
  leader: string | null;
  /** Highest log index known committed. */
  commitIndex: number;
  /** Highest log index applied to the lock table (applied ≤ commit). */
  appliedIndex: number;
  members: NodeMemberStatus[];
  /**
   * False while the node cannot write to its data folder (it refuses requests and retries) or
   * after a fatal error; absent means healthy.
   */
  healthy?: boolean;
  /** Why it is not healthy. */
  failure?: string | null;
  raftLog?: RaftLogStatus;
  eventLoopLag?: EventLoopLagSnapshot;
  /** The lock table's limits in force on this node. */
  tableLimits?: TableLimitsStatus;
}

/** The body of GET /status: the snapshot and whether /readyz would answer ready. */
export interface AdminStatus extends NodeStatusSnapshot {
  ready: boolean;
}
