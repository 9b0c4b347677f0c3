import { RaftError } from "./errors.js";
import type { Message, NodeId, Snapshot, SnapshotBytes, SnapshotMetadata } from "./types.js";

/**
 * The highest term a node accepts or reaches (2^48). Far below Number.MAX_SAFE_INTEGER (2^53 − 1)
 * so that a term can always be incremented and stay exact; at one election per millisecond a
 * cluster needs almost 9,000 years to reach it.
 */
export const TERM_MAX = 2 ** 48;

/**
 * Why the core refused a message (RaftConfig.onRefused):
 * - termAboveCeiling: its term is above TERM_MAX.
 * - termTooFarAhead: its term is more than termAheadMax above ours.
 * - notMember: a response from a node outside the configuration.
 * - notTheLeader: a leader's message (append, heartbeat, snapshot) from another node than the
 *   leader we know in this term, or, while we follow a live leader (or lead), from a newer term.
 * - timeoutNowNotFromLeader: a timeoutNow not from our leader in our term.
 * - transferNotAnnounced: a vote request flagged as a transfer that our leader did not announce.
 * - ackNotSent: an acknowledgement of an index we never sent to that follower in this term.
 */
export type RefusalReason =
  | "termAboveCeiling"
  | "termTooFarAhead"
  | "notMember"
  | "notTheLeader"
  | "timeoutNowNotFromLeader"
  | "transferNotAnnounced"
  | "ackNotSent";

/**
 * Options of one Raft node. Times are in ticks; the host decides how long a tick is. `Bytes` is
 * what a received snapshot's bytes are: a Uint8Array, unless snapshotStaging keeps them elsewhere.
 */
export interface RaftConfig<Bytes extends SnapshotBytes = Uint8Array> {
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
  messageBytesMax?: number;
  /** Upper bound of AppendEntries in flight to one follower. */
  inflightMessagesMax?: number;
  /** Upper bound of entry bytes in flight to one follower. */
  inflightBytesMax?: number;
  /** Proposals are refused while the uncommitted tail of the leader's log is larger than this. */
  uncommittedBytesMax?: number;
  /** Upper bound of committed entry bytes handed out in one Ready. */
  committedBytesPerReadyMax?: number;
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
  /**
   * The same check made a chunk at a time as a snapshot arrives, which replaces checkSnapshot for
   * it: checking 86 MiB in one go held a follower's event loop for ~100 ms. Pure, no I/O.
   */
  snapshotCheck?: (metadata: SnapshotMetadata, totalBytes: number) => SnapshotCheck;
  /**
   * Where a snapshot from the leader is kept as its chunks arrive, one staging per transfer. The
   * core only counts offsets and hands each accepted chunk on: the host's staging may write them
   * to a file (its I/O, not the core's), so an 86 MiB snapshot is never whole in memory. Default:
   * a buffer of the announced size. Required when `Bytes` is not Uint8Array.
   */
  snapshotStaging?: (metadata: SnapshotMetadata, totalBytes: number) => SnapshotStaging<Bytes>;
  /**
   * A message whose term is more than this above ours is refused, unless it comes from a leader
   * while we have none and a majority of the other voters sent us such terms too (a node
   * partitioned through that many elections still catches up). See packages/raft/README.md.
   */
  termAheadMax?: number;
  /**
   * Told about every message the core refuses as impossible from a correct peer (see
   * RefusalReason). Pure callback: the host logs and counts; the core does nothing else.
   */
  onRefused?: (message: Message, reason: RefusalReason) => void;
  /** Optional diagnostics sink. */
  logger?: RaftLogger;
}

/**
 * The diagnostics sink: structured fields first, then the message, as @dlock/protocol's Logger
 * (and pino) take them, so a host passes its logger as is. raft depends on nothing, hence its own
 * structural copy of the three levels it uses.
 */
export interface RaftLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** A received snapshot's check, fed its bytes in order (see RaftConfig.snapshotCheck). */
export interface SnapshotCheck {
  update(bytes: Uint8Array): void;
  /** Why the bytes fed are not the snapshot announced, or null; once all of them were fed. */
  problem(): string | null;
}

/**
 * The bytes of one snapshot transfer, fed in order as the core accepts its chunks (see
 * RaftConfig.snapshotStaging). The core checks offsets and sizes before append(): a staging never
 * sees a gap, an overlap or more than the size it was made for.
 */
export interface SnapshotStaging<Bytes extends SnapshotBytes = Uint8Array> {
  append(bytes: Uint8Array): void;
  /**
   * True while the staging holds as many appended bytes not yet stored as it should: the core then
   * holds its answer to the chunk (the leader sends the next chunk only after one), until the host
   * calls RaftNode.snapshotStagingDrained(). A staging that stores at once leaves this out.
   */
  backlogged?(): boolean;
  /** Every byte appended, once they add up to the announced size; called once. */
  bytes(): Bytes;
  /** The transfer was dropped (restarted, refused, or not needed): its bytes are garbage. */
  discard(): void;
}

/** The default staging: a buffer of the announced size. */
export function memorySnapshotStaging(totalBytes: number): SnapshotStaging {
  const buffer = new Uint8Array(totalBytes);
  let used = 0;
  return {
    append(bytes) {
      buffer.set(bytes, used);
      used += bytes.byteLength;
    },
    bytes: () => buffer,
    discard: () => undefined,
  };
}

export type ResolvedRaftConfig<Bytes extends SnapshotBytes = Uint8Array> = Required<
  Omit<
    RaftConfig<Bytes>,
    "logger" | "checkSnapshot" | "snapshotCheck" | "snapshotStaging" | "onRefused"
  >
> & {
  logger: RaftLogger | null;
  onRefused: ((message: Message, reason: RefusalReason) => void) | null;
  checkSnapshot: ((snapshot: Snapshot) => string | null) | null;
  snapshotCheck: ((metadata: SnapshotMetadata, totalBytes: number) => SnapshotCheck) | null;
  snapshotStaging: (metadata: SnapshotMetadata, totalBytes: number) => SnapshotStaging<Bytes>;
};

export const DEFAULT_RAFT_CONFIG = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  messageBytesMax: 1024 * 1024,
  inflightMessagesMax: 256,
  inflightBytesMax: 32 * 1024 * 1024,
  uncommittedBytesMax: 64 * 1024 * 1024,
  committedBytesPerReadyMax: 16 * 1024 * 1024,
  snapshotChunkBytes: 512 * 1024,
  applied: 0,
  // 2^24: one member's message moves our term at most this far, so a hostile member needs 2^24
  // accepted messages (each only while we have no live leader) to reach TERM_MAX. Generous for a
  // partitioned node: with pre-vote, terms only grow through elections a quorum pre-voted for, and
  // 16.7 million of them is half a year of one election a second; even then it catches up once a
  // majority of the other voters has shown it their terms (see termAheadMax).
  termAheadMax: 2 ** 24,
} as const;

/** Fills defaults and rejects bad values and combinations with a RaftError("INVALID_CONFIG"). */
export function resolveRaftConfig<Bytes extends SnapshotBytes = Uint8Array>(
  config: RaftConfig<Bytes>,
): ResolvedRaftConfig<Bytes> {
  const resolved = {
    ...DEFAULT_RAFT_CONFIG,
    ...stripUndefined(config),
    logger: config.logger ?? null,
    checkSnapshot: config.checkSnapshot ?? null,
    snapshotCheck: config.snapshotCheck ?? null,
    // Without a staging of its own, a host's Bytes is Uint8Array (see RaftConfig.snapshotStaging).
    snapshotStaging:
      config.snapshotStaging ??
      ((_: SnapshotMetadata, totalBytes: number) => memorySnapshotStaging(totalBytes)),
    onRefused: config.onRefused ?? null,
  } as ResolvedRaftConfig<Bytes>;
  const fail = (message: string): never => {
    throw new RaftError("INVALID_CONFIG", `invalid raft config: ${message}`);
  };
  if (typeof resolved.id !== "string" || resolved.id.length === 0)
    fail("id must be a non-empty string");
  if (typeof resolved.random !== "function") fail("random must be a function returning [0, 1)");
  const positive: (keyof typeof DEFAULT_RAFT_CONFIG)[] = [
    "electionTicks",
    "heartbeatTicks",
    "messageBytesMax",
    "inflightMessagesMax",
    "inflightBytesMax",
    "uncommittedBytesMax",
    "committedBytesPerReadyMax",
    "snapshotChunkBytes",
    "termAheadMax",
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

/** A copy without the undefined fields (a loop: every node start runs it, the simulator's thousands). */
function stripUndefined<T extends object>(value: T): Partial<T> {
  const fields = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    const field = fields[key];
    if (field !== undefined) copy[key] = field;
  }
  return copy as Partial<T>;
}
