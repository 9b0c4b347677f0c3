import type {
  ConfChange,
  ConfState,
  Entry,
  Message,
  RaftConfig,
  RaftNode,
  Role,
  Storage,
} from "@dlock/raft";
import { RaftError } from "@dlock/raft";
import type { SafetyMonitor } from "./checkers/safety-monitor.js";
import type { LogView } from "./checkers/violation.js";
import { SafetyViolation } from "./checkers/violation.js";
import type { ChainedEntry } from "./log-chain.js";
import type { SimNetwork } from "./network.js";
import type { Prng } from "./prng.js";
import type { SimStateMachineFactory } from "./state-machine.js";
import type { SimWorld } from "./world.js";

/** Raft options the simulator passes through to the core (id, random and applied are its own). */
export type SimRaftOptions = Omit<RaftConfig, "id" | "random" | "applied" | "logger">;

export type RaftNodeFactory = (config: RaftConfig, storage: Storage) => RaftNode;

export interface SimNodeOptions {
  id: string;
  raft: SimRaftOptions;
  /** A tick every tickMs of the node's own clock. */
  tickMs: number;
  /** Speed of the node's clock relative to true time (1 = exact; 1.01 = 1 % fast). */
  clockRate: number;
  /** A synced write completes after a delay uniform in [fsyncMinMs, fsyncMaxMs]. */
  fsyncMinMs: number;
  fsyncMaxMs: number;
  /** Probability that a crash keeps a (possibly torn) prefix of the unsynced writes. */
  tornWriteRate: number;
  /** Snapshot and compact the log when this many entries were applied since the last snapshot. */
  snapshotEveryEntries: number;
  /**
   * Readies the host combines into one storage batch, at most (RaftHost's writesPerBatchMax):
   * 1 persists every Ready on its own; more lets later Readies ride on an earlier one's fsync.
   */
  readiesInFlightMax: number;
}

/** What a node tells the cluster around it. */
export interface SimNodeEvents {
  roleChanged?(node: ClusterNode, role: Role, term: number): void;
  /** A committed entry was applied (all kinds). */
  applied?(node: ClusterNode, entry: Entry): void;
  /** A committed config entry was reported in a Ready. */
  configCommitted?(node: ClusterNode): void;
  /** A Ready carried a new soft state (role, leader or term as this node sees them). */
  softStateChanged?(node: ClusterNode, role: Role, leader: string | null, term: number): void;
  /** The process started, crashed, stopped, paused or resumed (status is the new one). */
  statusChanged?(node: ClusterNode, status: SimNodeStatus): void;
}

export interface SimNodeDeps {
  world: SimWorld;
  network: SimNetwork<Message>;
  monitor: SafetyMonitor;
  random: Prng;
  createRaftNode: RaftNodeFactory;
  createStateMachine: SimStateMachineFactory;
  events: SimNodeEvents;
}

export type SimNodeStatus = "running" | "paused" | "crashed" | "stopped";

/** What the cluster and the checkers read of a node's log, as chain values. */
export interface SimLogStorage {
  /** The chain value of the entry at `index` in that image (undefined: not there). */
  chainAt(index: number, image?: "memory" | "durable"): number | undefined;
  snapshotIndexOf(image?: "memory" | "durable"): number;
  lastIndexOf(image?: "memory" | "durable"): number;
  /** Writes a crash now could lose. */
  readonly unsyncedWrites: number;
  term(index: number): number;
}

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
 * A member of a simulated cluster, as the cluster, the fault driver and the checkers see it: a
 * HostedSimNode, a process running the production RaftHost (with the lock service in the lock
 * simulator, with a generic state machine in the Raft-level one).
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
  /**
   * Calls `callback` once, from inside the storage write that leaves `batches` or more batches
   * unsynced on this node's disk (defer what touches the node); returns what cancels the wait.
   */
  whenUnsynced(batches: number, callback: () => void): () => void;
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

/** Tells the monitor a Ready reported `entries` committed on `node` (and the cluster of configs). */
export function reportCommitted(
  node: ClusterNode,
  deps: Pick<SimNodeDeps, "monitor" | "events">,
  entries: readonly Entry[],
): void {
  const { monitor } = deps;
  const chained: ChainedEntry[] = [];
  let config = false;
  for (const entry of entries) {
    const chain = monitor.logMatching.chainOf(entry.index, entry.term);
    if (chain === undefined) {
      throw monitor.report(
        new SafetyViolation(
          "coreContract",
          `${node.id} reports (index ${entry.index}, term ${entry.term}) committed, ` +
            `an entry no node ever stored`,
        ),
      );
    }
    chained.push({ entry, chain });
    if (entry.kind === "config") config = true;
  }
  monitor.observeCommitted(node.id, node.term, chained);
  if (config) deps.events.configCommitted?.(node);
}
