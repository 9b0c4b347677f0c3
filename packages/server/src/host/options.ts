import type { NodeId, RaftConfig, RaftNode, RefusalReason, Storage } from "@dlock/raft";
import { ConfigError, integerOption, positiveInteger } from "@dlock/protocol";
import type { Logger } from "@dlock/protocol";
import type { HostStorage } from "../storage/host-storage.js";
import type { PeerTransport, StateMachine } from "./interfaces.js";
import { NODE_SCHEDULER, nodeNowMs, nodeRandom } from "./node-edges.js";
import type { HostScheduler } from "./scheduler.js";

/** Builds the Raft node over the host's storage. */
export type RaftNodeFactory = (config: RaftConfig, storage: Storage) => RaftNode;

/** Raft settings the host passes through to the core (id, applied and random are the host's). */
export type HostRaftSettings = Partial<
  Omit<RaftConfig, "id" | "applied" | "random" | "logger" | "electionTicks" | "heartbeatTicks">
>;

export interface RaftHostOptions<Result> {
  id: NodeId;
  /** Opened storage (LevelStorage in production); the host owns it from now on and closes it in stop(). */
  storage: HostStorage;
  transport: PeerTransport;
  stateMachine: StateMachine<Result>;
  /** Builds the Raft node; the real RawNode by default (tests may wrap it). */
  createNode?: RaftNodeFactory;
  logger: Logger;
  /** Length of one Raft tick in milliseconds. */
  tickMs?: number;
  /** Election timeout = electionTicks × tickMs (randomized up to twice that by the core). */
  electionTicks?: number;
  /** Heartbeat interval in ticks. */
  heartbeatTicks?: number;
  raft?: HostRaftSettings;
  /** Proposals waiting to apply, at most; more are refused with OVERLOADED. */
  pendingProposalsMax?: number;
  /** ReadIndex requests waiting, at most; more are refused with OVERLOADED. */
  pendingReadsMax?: number;
  /** Readies combined into one storage batch (group commit), at most. */
  writesPerBatchMax?: number;
  /**
   * Committed entries applied in one turn of the event loop, about: once past it the host yields
   * (ticks, heartbeats and messages run) before it applies more. A follower catching up 25k
   * entries applied them in one step of a second, longer than an election timeout.
   */
  applyEntriesPerTurnMax?: number;
  /**
   * Changed state machine records a storage batch takes, about: while a write is in flight and
   * this many wait, applies wait for the next batch, whose turn encodes them all (a catch-up
   * once encoded 25k in one turn of ~100 ms).
   */
  stateChangesPerBatchMax?: number;
  /**
   * Entry bytes of appends handed to the transport for one follower in one turn of the event
   * loop, about (one append always goes): more waits for the next turn, so a follower far behind
   * is caught up without holding the leader's event loop for its whole window (append-pacer.ts).
   */
  appendBytesPerTurnMax?: number;
  /** A leadership transfer that has not finished after this long fails with TRANSFER_FAILED. */
  transferTimeoutMs?: number;
  /** Compact the log behind a snapshot once it holds this many entries above the last one; 0 = no entry limit. */
  compactionEntries?: number;
  /** Compact the log behind a snapshot once its stored entries take this many bytes; 0 = no byte limit. */
  compactionBytes?: number;
  /** A failed write is retried after this long, doubling up to storageRetryDelayMsMax. */
  storageRetryDelayMsMin?: number;
  storageRetryDelayMsMax?: number;
  /** Ticks, timers and deferred work; Node's timers by default. */
  scheduler?: HostScheduler;
  /** Monotonic clock in ms (role-change events carry it); performance.now by default. */
  now?: () => number;
  /** Randomness for the core's election jitter; Math.random by default. */
  random?: () => number;
  /** Told about every peer message the core refused (the host also logs it once per peer and reason). */
  onRaftRefused?: (reason: RefusalReason) => void;
}

export const DEFAULT_RAFT_HOST_OPTIONS = {
  tickMs: 50,
  electionTicks: 10,
  heartbeatTicks: 1,
  pendingProposalsMax: 65_536,
  pendingReadsMax: 65_536,
  writesPerBatchMax: 1024,
  /**
   * Below one Ready's page (committedBytesPerReadyMax), so that a turn applies one page. A wiped
   * follower catching up after its snapshot install runs this code for the first time in a fresh
   * process: one 128 KiB page (~2,500 of the scale bench's acquires) held it 36-63 ms.
   */
  applyEntriesPerTurnMax: 256,
  /**
   * One turn's applies; 4,096 records took 56 ms to encode in one turn (loaded, profiled). A
   * batch then encodes at most this plus one page: at 256 a wiped follower's catch-up waited for a
   * write every page and took twice as long (1.9 s, not 0.8-1.0), its turns no shorter.
   */
  stateChangesPerBatchMax: 1024,
  /** ~8 ms of encoding on a loaded leader (2 MiB took ~100 ms); steady traffic sends a few KiB. */
  appendBytesPerTurnMax: 256 * 1024,
  /** One append's entry bytes (the core's default is 1 MiB): a message fits one turn's budget. */
  messageBytesMax: 256 * 1024,
  /**
   * The core's page of committed entries per Ready (its own default is 16 MiB): ~650 of the scale
   * bench's acquires (their commands are ~50 bytes; only payload counts). The host applies whole
   * Readies, so this, not applyEntriesPerTurnMax, bounds a turn's applies from below.
   */
  committedBytesPerReadyMax: 32 * 1024,
  /**
   * Entry bytes in flight to one follower (the core's default is 32 MiB). A follower that turns to
   * replicate (after a snapshot install, say) is sent a full window at once: 32 MiB took a loaded
   * leader 320-420 ms to encode in one turn, and even paced (appendBytesPerTurnMax) it is memory
   * held per follower. 2 MiB is still thousands of times what steady traffic keeps in flight.
   */
  inflightBytesMax: 2 * 1024 * 1024,
  transferTimeoutMs: 5_000,
  compactionEntries: 100_000,
  compactionBytes: 64 * 1024 * 1024,
  storageRetryDelayMsMin: 50,
  storageRetryDelayMsMax: 2_000,
} as const;

export type ResolvedRaftHostOptions<Result> = RaftHostOptions<Result> &
  Required<Omit<RaftHostOptions<Result>, "raft" | "createNode" | "onRaftRefused">> & {
    raft: HostRaftSettings;
    createNode?: RaftNodeFactory;
    onRaftRefused?: (reason: RefusalReason) => void;
  };

export function resolveRaftHostOptions<Result>(
  options: RaftHostOptions<Result>,
): ResolvedRaftHostOptions<Result> {
  const defaults = DEFAULT_RAFT_HOST_OPTIONS;
  // Every field written out (`satisfies` fails to compile if one is missing): an object spread
  // into this many fields leaves V8 a slow dictionary object, costly to build and to read.
  const resolved = {
    id: options.id,
    storage: options.storage,
    transport: options.transport,
    stateMachine: options.stateMachine,
    createNode: options.createNode,
    logger: options.logger,
    tickMs: options.tickMs ?? defaults.tickMs,
    electionTicks: options.electionTicks ?? defaults.electionTicks,
    heartbeatTicks: options.heartbeatTicks ?? defaults.heartbeatTicks,
    raft: {
      ...options.raft,
      committedBytesPerReadyMax:
        options.raft?.committedBytesPerReadyMax ?? defaults.committedBytesPerReadyMax,
      inflightBytesMax: options.raft?.inflightBytesMax ?? defaults.inflightBytesMax,
      messageBytesMax: options.raft?.messageBytesMax ?? defaults.messageBytesMax,
    },
    pendingProposalsMax: options.pendingProposalsMax ?? defaults.pendingProposalsMax,
    pendingReadsMax: options.pendingReadsMax ?? defaults.pendingReadsMax,
    writesPerBatchMax: options.writesPerBatchMax ?? defaults.writesPerBatchMax,
    applyEntriesPerTurnMax: options.applyEntriesPerTurnMax ?? defaults.applyEntriesPerTurnMax,
    stateChangesPerBatchMax: options.stateChangesPerBatchMax ?? defaults.stateChangesPerBatchMax,
    appendBytesPerTurnMax: options.appendBytesPerTurnMax ?? defaults.appendBytesPerTurnMax,
    transferTimeoutMs: options.transferTimeoutMs ?? defaults.transferTimeoutMs,
    compactionEntries: options.compactionEntries ?? defaults.compactionEntries,
    compactionBytes: options.compactionBytes ?? defaults.compactionBytes,
    storageRetryDelayMsMin: options.storageRetryDelayMsMin ?? defaults.storageRetryDelayMsMin,
    storageRetryDelayMsMax: options.storageRetryDelayMsMax ?? defaults.storageRetryDelayMsMax,
    scheduler: options.scheduler ?? NODE_SCHEDULER,
    now: options.now ?? nodeNowMs,
    random: options.random ?? nodeRandom,
    onRaftRefused: options.onRaftRefused,
  } satisfies Record<keyof RaftHostOptions<Result>, unknown> as ResolvedRaftHostOptions<Result>;
  const positive = [
    "tickMs",
    "electionTicks",
    "heartbeatTicks",
    "pendingProposalsMax",
    "pendingReadsMax",
    "writesPerBatchMax",
    "applyEntriesPerTurnMax",
    "stateChangesPerBatchMax",
    "appendBytesPerTurnMax",
    "transferTimeoutMs",
    "storageRetryDelayMsMin",
    "storageRetryDelayMsMax",
  ] as const;
  for (const key of positive) positiveInteger(resolved[key], undefined, key);
  for (const key of ["compactionEntries", "compactionBytes"] as const) {
    integerOption(resolved[key], undefined, key, 0);
  }
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new ConfigError("heartbeatTicks", "must be < electionTicks");
  }
  return resolved;
}
