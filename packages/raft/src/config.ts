import { RaftError } from "./errors.js";
import type { NodeId, Snapshot } from "./types.js";

/**
 * Deliberate bugs that tests switch on to prove the simulator's checkers can catch them.
 * Never set in production; every flag defaults to false.
 */
export interface PlantedBugs {
  /** Commit an entry of an earlier term by counting replicas (Raft paper Figure 8). */
  commitPreviousTermByCounting?: boolean;
  /** Grant votes without the candidate's-log-is-up-to-date check. */
  voteWithoutLogCheck?: boolean;
  /** Count the leader's own entries (and answer appends) before they are durable. */
  acknowledgeBeforePersist?: boolean;
}

/** Options of one Raft node. Times are in ticks; the host decides how long a tick is. */
export interface RaftConfig {
  id: NodeId;
  /** A follower that hears no leader for electionTicks..2*electionTicks-1 ticks campaigns. */
  electionTicks?: number;
  /** A leader sends heartbeats every heartbeatTicks ticks. Must be < electionTicks. */
  heartbeatTicks?: number;
  /** Ask for pre-votes before disrupting the term (thesis §9.6). */
  preVote?: boolean;
  /** A leader that has not heard from a quorum within an election timeout steps down. */
  checkQuorum?: boolean;
  /** Upper bound of entry data in one AppendEntries message, in bytes. */
  maxMessageBytes?: number;
  /** Upper bound of AppendEntries in flight to one follower. */
  maxInflightMessages?: number;
  /** Upper bound of entry bytes in flight to one follower. */
  maxInflightBytes?: number;
  /** Proposals are refused while the uncommitted tail of the leader's log is larger than this. */
  maxUncommittedBytes?: number;
  /** Upper bound of committed entry bytes handed out in one Ready. */
  maxCommittedBytesPerReady?: number;
  /** Size of one InstallSnapshot chunk, in bytes. */
  snapshotChunkBytes?: number;
  /** The last index the host had applied before (re)starting; entries up to it are not re-applied. */
  applied?: number;
  /** Source of randomness in [0, 1): the only one the core uses (election timeout jitter). */
  random: () => number;
  /**
   * Checks a snapshot received from the leader before it is installed (the host's checksum of
   * its data; pure, no I/O). A problem returned refuses it: the transfer restarts from the start.
   */
  checkSnapshot?: (snapshot: Snapshot) => string | null;
  /** Optional diagnostics sink. */
  logger?: RaftLogger;
  /** Test-only: see PlantedBugs. */
  plantedBugs?: PlantedBugs;
}

export interface RaftLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export type ResolvedRaftConfig = Required<
  Omit<RaftConfig, "logger" | "plantedBugs" | "checkSnapshot">
> & {
  logger: RaftLogger | null;
  checkSnapshot: ((snapshot: Snapshot) => string | null) | null;
  plantedBugs: Required<PlantedBugs>;
};

export const DEFAULT_RAFT_CONFIG = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxMessageBytes: 1024 * 1024,
  maxInflightMessages: 256,
  maxInflightBytes: 32 * 1024 * 1024,
  maxUncommittedBytes: 64 * 1024 * 1024,
  maxCommittedBytesPerReady: 16 * 1024 * 1024,
  snapshotChunkBytes: 512 * 1024,
  applied: 0,
} as const;

/** Fills defaults and rejects bad values and combinations with a RaftError("INVALID_CONFIG"). */
export function resolveRaftConfig(config: RaftConfig): ResolvedRaftConfig {
  const resolved: ResolvedRaftConfig = {
    ...DEFAULT_RAFT_CONFIG,
    ...stripUndefined(config),
    logger: config.logger ?? null,
    checkSnapshot: config.checkSnapshot ?? null,
    plantedBugs: {
      commitPreviousTermByCounting: false,
      voteWithoutLogCheck: false,
      acknowledgeBeforePersist: false,
      ...stripUndefined(config.plantedBugs ?? {}),
    },
  } as ResolvedRaftConfig;
  const fail = (message: string): never => {
    throw new RaftError("INVALID_CONFIG", `invalid raft config: ${message}`);
  };
  if (typeof resolved.id !== "string" || resolved.id.length === 0)
    fail("id must be a non-empty string");
  if (typeof resolved.random !== "function") fail("random must be a function returning [0, 1)");
  const positive: (keyof typeof DEFAULT_RAFT_CONFIG)[] = [
    "electionTicks",
    "heartbeatTicks",
    "maxMessageBytes",
    "maxInflightMessages",
    "maxInflightBytes",
    "maxUncommittedBytes",
    "maxCommittedBytesPerReady",
    "snapshotChunkBytes",
  ];
  for (const key of positive) {
    const value = resolved[key];
    if (!Number.isSafeInteger(value) || (value as number) <= 0)
      fail(`${key} must be a positive integer`);
  }
  if (!Number.isSafeInteger(resolved.applied) || resolved.applied < 0) fail("applied must be ≥ 0");
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    fail(
      `heartbeatTicks (${resolved.heartbeatTicks}) must be < electionTicks (${resolved.electionTicks})`,
    );
  }
  return resolved;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
