import type { ConfChange, ConfState, RaftNode, Role } from "@dlock/raft";
import { RaftError } from "@dlock/raft";
import type { LogView } from "./checkers/violation.js";
import type { SimLogStorage, SimNodeStatus } from "./sim-node.js";

/** What happened to a node's processes and disk, for the run summary. */
export interface SimNodeCounters {
  crashes: number;
  /**
   * Crashes that lost unsynced writes, and those that kept a torn tail of them (some of the
   * unsynced writes survived and some did not, possibly cut inside a batch of entries).
   */
  crashesLosingWrites: number;
  tornWrites: number;
  restarts: number;
  snapshotsInstalled: number;
  compactions: number;
}

/** A refusal of the core, by its error code (the node is down: "DOWN"). */
export type SimRefusal = { error: string };

/**
 * A member of a simulated cluster, as the cluster, the fault driver and the checkers see it:
 * SimNode (the Raft-level simulator's own Ready loop) or the lock simulator's HostedSimNode
 * (a process running the production RaftHost).
 */
export interface ClusterNode {
  readonly id: string;
  /** The node's log as the checkers see it. */
  readonly storage: SimLogStorage;
  readonly memoryLog: LogView;
  readonly durableLog: LogView;
  readonly status: SimNodeStatus;
  readonly role: Role;
  readonly term: number;
  readonly leaderHint: string | null;
  readonly applied: number;
  readonly appliedConf: ConfState;
  readonly counters: SimNodeCounters;
  readonly isUp: boolean;
  readonly raftNode: RaftNode | null;
  /** Speed of this node's clock relative to true time. */
  readonly clockRate: number;
  start(): void;
  crash(): void;
  restart(): void;
  stop(): void;
  pause(): void;
  resume(): void;
  propose(data: Uint8Array): { index: number; term: number } | SimRefusal;
  proposeConfChange(change: ConfChange): { index: number; term: number } | SimRefusal;
  /** Starts a ReadIndex read; its id comes back in a Ready's readStates or droppedReads. */
  readIndex(requestId: number): SimRefusal | undefined;
  transferLeadership(target: string): SimRefusal | undefined;
}

/** Every counter at 0. */
export function emptyNodeCounters(): SimNodeCounters {
  return {
    crashes: 0,
    crashesLosingWrites: 0,
    tornWrites: 0,
    restarts: 0,
    snapshotsInstalled: 0,
    compactions: 0,
  };
}

/** The memory and durable logs of a node's storage, as the checkers read them. */
export function logViewsOf(storage: () => SimLogStorage): {
  memoryLog: LogView;
  durableLog: LogView;
} {
  return {
    memoryLog: {
      chainAt: (index) => storage().chainAt(index, "memory"),
      snapshotIndex: () => storage().snapshotIndexOf("memory"),
    },
    durableLog: {
      chainAt: (index) => storage().chainAt(index, "durable"),
      snapshotIndex: () => storage().snapshotIndexOf("durable"),
    },
  };
}

/** Runs `action` on the core of a running node; a RaftError refusal comes back as its code. */
export function callCore<T>(
  core: RaftNode | null,
  running: boolean,
  action: (core: RaftNode) => T,
): T | SimRefusal {
  if (!running || core === null) return { error: "DOWN" };
  try {
    return action(core);
  } catch (error) {
    if (error instanceof RaftError) return { error: error.code };
    throw error;
  }
}
