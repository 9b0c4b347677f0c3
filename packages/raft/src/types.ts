// The public data types of the Raft core. This file is the contract between the core, its hosts
// (packages/server, packages/testkit) and the transports that carry messages between nodes.
// Every field says its unit; indexes and terms are positive integers, 0 meaning "none".

/** A member's identity, stable for its whole life (e.g. "n1"). */
export type NodeId = string;

/** A node's role. Transitions happen only in become* functions of the core. */
export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** What a log entry carries. */
export type EntryKind =
  /** Application data, opaque to the core (the lock state machine's command). */
  | "normal"
  /** Appended by a new leader on election so it can commit entries of its own term. */
  | "noop"
  /** A one-server membership change; takes effect when appended (not when committed). */
  | "config";

/** A one-server membership change. `context` is opaque to the core (the server puts addresses there). */
export interface ConfChange {
  type: "addLearner" | "promote" | "remove";
  nodeId: NodeId;
  context?: Uint8Array;
}

export interface Entry {
  index: number;
  term: number;
  kind: EntryKind;
  /** Present for kind "normal"; empty for "noop". */
  data: Uint8Array;
  /** Present for kind "config". */
  change?: ConfChange;
}

/** Members of the group. Voters count toward quorum; learners receive the log but never vote. */
export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

/** State that must be durable before any message that depends on it is sent. */
export interface HardState {
  term: number;
  /** The candidate voted for in `term`, or null. */
  vote: NodeId | null;
  /** Highest index known committed. Persisting it is an optimization, not a safety need. */
  commit: number;
}

export interface SnapshotMetadata {
  /** Index and term of the last entry the snapshot includes. */
  index: number;
  term: number;
  /** Membership as of `index`. */
  confState: ConfState;
}

/**
 * A state-machine snapshot. `data` is opaque to the core. A snapshot received from the leader
 * carries the bytes its SnapshotStaging gave (a Uint8Array unless the host stages elsewhere).
 */
export interface Snapshot<Bytes extends SnapshotBytes = Uint8Array> {
  metadata: SnapshotMetadata;
  data: Bytes;
}

/**
 * The bytes of a stored snapshot, which the core only measures and sends a chunk at a time. A
 * Uint8Array is one; a store may read the chunks from a file instead of holding the whole.
 */
export interface SnapshotBytes {
  readonly byteLength: number;
  /** The bytes in [begin, end) (0 ≤ begin ≤ end ≤ byteLength). */
  subarray(begin: number, end: number): Uint8Array;
}

/** The snapshot a Storage holds: a Snapshot whose bytes may be read on demand. */
export interface StoredSnapshot {
  metadata: SnapshotMetadata;
  data: SnapshotBytes;
}

/** A completed ReadIndex: once the host has applied `index`, reads for `requestId` are linearizable. */
export interface ReadState {
  requestId: number;
  index: number;
}

// ---- Messages ----------------------------------------------------------------------------------
// Every message carries the sender's term. A transport must deliver them unchanged (it may drop,
// delay, duplicate or reorder them: the core tolerates all of that).

interface MessageBase {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** A (pre-)vote request. `lastIndex`/`lastTerm` describe the candidate's log. */
export interface VoteRequest extends MessageBase {
  type: "preVote" | "vote";
  lastIndex: number;
  lastTerm: number;
  /** Set when campaigning because of a leadership transfer: voters ignore their leader lease. */
  transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  type: "preVoteResp" | "voteResp";
  granted: boolean;
}

/** AppendEntries: `entries` follow the entry at (prevIndex, prevTerm). */
export interface AppendRequest extends MessageBase {
  type: "append";
  prevIndex: number;
  prevTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * Reply to AppendEntries. On success `index` is the last index now matching the leader's log.
 * On rejection `index` is the rejected prevIndex and (`hintIndex`, `hintTerm`) let the leader skip
 * a whole conflicting term at once (fast backtracking).
 */
export interface AppendResponse extends MessageBase {
  type: "appendResp";
  reject: boolean;
  index: number;
  hintIndex: number;
  hintTerm: number;
}

/**
 * Heartbeat; `readContext` (0 = none) ties it to a ReadIndex round. During a leadership transfer
 * `transferee` names its target: followers honour that node's transfer vote request (and no other).
 */
export interface Heartbeat extends MessageBase {
  type: "heartbeat";
  commit: number;
  readContext: number;
  transferee?: NodeId;
}

export interface HeartbeatResponse extends MessageBase {
  type: "heartbeatResp";
  readContext: number;
}

/** One chunk of an InstallSnapshot transfer. Chunks are sent in order; `offset` is in bytes. */
export interface SnapshotChunk extends MessageBase {
  type: "snapshot";
  metadata: SnapshotMetadata;
  offset: number;
  data: Uint8Array;
  totalBytes: number;
  done: boolean;
}

/** Acknowledges snapshot bytes received in order up to `nextOffset`; `reject` asks to restart. */
export interface SnapshotResponse extends MessageBase {
  type: "snapshotResp";
  snapshotIndex: number;
  nextOffset: number;
  done: boolean;
  reject: boolean;
}

/** Leadership transfer: the leader tells an up-to-date target to campaign at once. */
export interface TimeoutNow extends MessageBase {
  type: "timeoutNow";
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotResponse
  | TimeoutNow;

export type MessageType = Message["type"];

// ---- Driving the core --------------------------------------------------------------------------

/** Volatile state that the host may display; changes are reported in Ready.softState. */
export interface SoftState {
  role: Role;
  leader: NodeId | null;
  term: number;
}

/**
 * A batch of work the host must do, returned by RawNode.ready(). The contract, in order:
 *
 * 1. `messages` may be sent at once: they do not depend on this Ready's persistence (a leader's
 *    AppendEntries to followers, heartbeats). Sending them in parallel with step 2 is what lets a
 *    leader replicate while its own disk write is in flight.
 * 2. Persist `snapshot` (if any), then `entries` (which may overwrite a suffix of the stored log,
 *    starting at entries[0].index), then `hardState` (if any), atomically or in that order, synced
 *    to disk when `mustSync` is true.
 * 3. Only after step 2 is durable, send `messagesAfterPersist` (vote requests, which carry our own
 *    vote; vote and pre-vote responses; append responses; the final snapshot acknowledgement) and
 *    call advance(ready). The core counts its own log as replicated only through advance().
 * 4. Apply `committedEntries` in order (and the state in `snapshot`, first, if any). They never
 *    include entries beyond what the host has been told to persist in this or earlier Readies.
 *    Report progress with appliedTo(index).
 * 5. Serve reads for `readStates` once applied ≥ their index; fail reads in `droppedReads`.
 *
 * Readies are produced and advanced strictly in order; the next ready() may be taken before the
 * previous one is advanced (pipelining), and advance() must then be called for each in order.
 */
export interface Ready<Bytes extends SnapshotBytes = Uint8Array> {
  /** Monotonic id of this Ready, for tracing and for advance() ordering checks. */
  id: number;
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot<Bytes>;
  mustSync: boolean;
  messages: Message[];
  messagesAfterPersist: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
  /** ReadIndex requests that can no longer complete here (leadership lost); retry elsewhere. */
  droppedReads: number[];
}

/** Per-follower replication state, as the leader sees it. */
export type ProgressState = "probe" | "replicate" | "snapshot";

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  learner: boolean;
  /** True when the follower answered within the last election timeout (check-quorum). */
  recentActive: boolean;
}

export interface Status {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId | null;
  leader: NodeId | null;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  confState: ConfState;
  /** Only on a leader. */
  progress?: Record<NodeId, ProgressStatus>;
  /** Target of an ongoing leadership transfer, on a leader. */
  transferee: NodeId | null;
}
