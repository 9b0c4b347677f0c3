// The wire messages. Every frame body is one of the `Frame` types below, told apart by `type`.
// A connection starts with a `hello` in each direction; after that a client connection carries
// requests (client → server) and responses (server → client), a peer connection carries `raft`
// batches in both directions. Optional fields are omitted rather than sent as undefined.
import type { LeaderHint, WireError } from "./errors.js";
import type { TableLimitName } from "./limits.js";

/**
 * The newest protocol version this build speaks; bumped on every incompatible change of the
 * messages in this file. A build speaks every version from PROTOCOL_VERSION_MIN to it, and a
 * connection uses the highest version both sides speak (see negotiateProtocolVersion).
 */
export const PROTOCOL_VERSION = 1;
/** The oldest protocol version this build still speaks (raised only at a major release). */
export const PROTOCOL_VERSION_MIN = 1;

/** What a connection is for. */
export type ConnectionRole = "client" | "peer";

/**
 * The first frame on every connection, in both directions.
 * - client → server: role "client", `clientId` set, `clusterId` may be null (accept any cluster).
 * - server → client: role "client", `nodeId` set (the server's id), `clusterId` set.
 * - peer ↔ peer: role "peer", `nodeId` set, `clusterId` set.
 * A receiver that does not accept the hello sends an `error` frame (HANDSHAKE_FAILED) and closes.
 */
export interface HelloFrame {
  type: "hello";
  /** The newest version the sender speaks. */
  protocolVersion: number;
  /**
   * The oldest version the sender speaks, when older than `protocolVersion`. Absent (as in every
   * hello before version ranges existed) = the sender speaks `protocolVersion` only.
   */
  protocolVersionMin?: number;
  clusterId: string | null;
  role: ConnectionRole;
  nodeId?: string;
  clientId?: string;
  /**
   * Peers only: the sender's advertised client address ("host:port"), so that every node can
   * redirect clients to whichever member leads.
   */
  clientAddress?: string;
  /**
   * Peers only: the id the sender's data folder got when it was created. A voter that comes back
   * with another one lost its disk (its votes and acknowledged entries); peers refuse it.
   */
  dataId?: string;
  /**
   * Clients only: the auth token (`dlock auth token` makes one) when the server runs with an auth
   * file. A server refuses a missing or unknown one with UNAUTHENTICATED (unless the TLS client
   * certificate names a principal). Sent in clear text without TLS.
   */
  authToken?: string;
}

// ---- Client requests ---------------------------------------------------------------------------
// `id` is chosen by the client, unique among its in-flight requests on this connection (a positive
// integer); the response carries it back. Responses may come in any order.

/**
 * Take `key` for `value` with a lease of `ttlMs`. Granted at once if the key is free, expired, or
 * already held by the same value (then it is a refresh that keeps the token). If held by another
 * value: with `waitMs` > 0, queue FIFO and answer when granted or when `waitMs` ran out (LOCK_BUSY);
 * without, answer LOCK_BUSY at once. `requestId` (unique per attempt sequence of one lock() call)
 * lets the server recognise a retry of the same acquire, e.g. after a reconnect.
 */
export interface AcquireRequest {
  type: "acquire";
  id: number;
  key: string;
  value: string;
  ttlMs: number;
  waitMs?: number;
  requestId: string;
}

/**
 * Take `count` (default 1) of the `permits` permits of the counting semaphore `key` for `value`,
 * with the lease, wait, retry and fencing rules of `acquire` (answered with an AcquireResult; the
 * token is the granting Raft index, shared by holders granted in one step). FIFO: a waiter is
 * granted only after every waiter ahead of it. `permits` is fixed by the first acquirer while the
 * key has holders or waiters (SEMAPHORE_PERMITS_MISMATCH otherwise); a lock key answers
 * KIND_MISMATCH. Refresh, release and cancel are the lock requests. A server without semaphores
 * answers INVALID_ARGUMENT on `type`.
 */
export interface SemaphoreAcquireRequest {
  type: "semaphoreAcquire";
  id: number;
  key: string;
  value: string;
  ttlMs: number;
  waitMs?: number;
  requestId: string;
  permits: number;
  count?: number;
}

/**
 * Take the reader-writer lock `key` for `value`: `read` shares it with other readers, `write`
 * holds it alone; with the lease, wait, retry and fencing rules of `acquire` (answered with an
 * AcquireResult; every grant's token is greater than every earlier grant's on the key, readers
 * granted in one step share theirs). FIFO fair: a queued writer blocks later readers. A lock or
 * semaphore key answers KIND_MISMATCH; a holder or waiter asking again in the other mode,
 * INVALID_ARGUMENT on `mode`. Refresh, release and cancel are the lock requests. A server
 * without reader-writer locks answers INVALID_ARGUMENT on `type`.
 */
export interface RwAcquireRequest extends Omit<AcquireRequest, "type"> {
  type: "rwAcquire";
  mode: "read" | "write";
}

/** Extend the lease of the grant `token` held by `value`. NOT_OWNER if that grant is gone. */
export interface RefreshRequest {
  type: "refresh";
  id: number;
  key: string;
  value: string;
  token: number;
  ttlMs: number;
}

/**
 * Release the lock held by `value`; with `token`, only that grant (a delayed release never frees a
 * later grant). Answers `released: false` if it was not held (never an error: nothing is lost).
 */
export interface ReleaseRequest {
  type: "release";
  id: number;
  key: string;
  value: string;
  token?: number;
}

/**
 * Leave the wait queue of `key` that the acquire `requestId` joined (the caller aborted).
 * Answers `cancelled: false` if it was not queued (already granted, timed out or never queued),
 * with the `fencingToken` that `value` holds the key with, if it does.
 */
export interface CancelRequest {
  type: "cancel";
  id: number;
  key: string;
  value: string;
  requestId: string;
}

/**
 * Admin only: frees `key` whoever holds it (with `token`, only that grant), through the log like
 * a release. Answers which grant it freed; `released: false` when the key was not held (so).
 */
export interface ForceReleaseRequest {
  type: "forceRelease";
  id: number;
  key: string;
  token?: number;
}

/** A linearizable read of one key (served through ReadIndex by the leader). */
export interface GetRequest {
  type: "get";
  id: number;
  key: string;
}

/**
 * Long-polls the events of `key` (with `prefix`, of every key starting with `key`; "" = all keys)
 * from `fromRevision` on (absent: from the leader's applied revision + 1). Served by the leader
 * from its bounded event history: answered as soon as a matching event exists, or after `waitMs`
 * with none. Resume with `fromRevision` = the result's `revision` + 1: no gap, no duplicate.
 * WATCH_REVISION_COMPACTED when `fromRevision` is older than the history.
 */
export interface WatchRequest {
  type: "watch";
  id: number;
  key: string;
  prefix?: boolean;
  fromRevision?: number;
  waitMs?: number;
  /** Most events in one answer (the events of one revision are never split). */
  eventsMax?: number;
}

/**
 * A linearizable page of the locks whose keys start with `prefix` ("" = all), in key order,
 * after the key `after` (exclusive); at most `limit` locks.
 */
export interface ListRequest {
  type: "list";
  id: number;
  prefix: string;
  after?: string;
  limit?: number;
}

/** The cluster as the receiving node sees it. */
export interface StatusRequest {
  type: "status";
  id: number;
}

// ---- Membership (admin) requests ---------------------------------------------------------------
// Answered by the leader once the change is committed and applied; one change at a time. A
// refused change is a CONFIG_CHANGE_REFUSED error that says why.

/** The members as the leader sees them. */
export interface MembersRequest {
  type: "members";
  id: number;
}

/** Adds `nodeId` (reachable at `peerAddress`) as a learner: it catches up but does not vote. */
export interface AddMemberRequest {
  type: "addMember";
  id: number;
  nodeId: string;
  /** "host:port" of its peer port. */
  peerAddress: string;
}

/** Makes the learner `nodeId` a voter; refused until it has caught up with the leader. */
export interface PromoteMemberRequest {
  type: "promoteMember";
  id: number;
  nodeId: string;
}

/** Removes `nodeId` (voter or learner). Removing the leader makes it step down once committed. */
export interface RemoveMemberRequest {
  type: "removeMember";
  id: number;
  nodeId: string;
}

export type ClientRequest =
  | AcquireRequest
  | SemaphoreAcquireRequest
  | RwAcquireRequest
  | RefreshRequest
  | ReleaseRequest
  | CancelRequest
  | ForceReleaseRequest
  | GetRequest
  | WatchRequest
  | ListRequest
  | StatusRequest
  | MembersRequest
  | AddMemberRequest
  | PromoteMemberRequest
  | RemoveMemberRequest;

export type ClientRequestType = ClientRequest["type"];

// ---- Results -----------------------------------------------------------------------------------

export interface AcquireResult {
  /** Strictly greater than every token issued before for this key (the granting Raft index). */
  fencingToken: number;
  /** The lease length granted, measured by the leader from no earlier than the grant. */
  ttlMs: number;
  /**
   * A lower bound, on the granting leader's clock, of the time between the leader's receipt of
   * this request (or, after a leader change, the new leader's election) and the grant: 0 when
   * granted at once. The client's validity starts no later than `sent + waitedMs`. 0 is always safe.
   */
  waitedMs: number;
}

export interface RefreshResult {
  /** The lease length granted from the refresh (measured from no earlier than its receipt). */
  ttlMs: number;
}

export interface ReleaseResult {
  /** true: this call freed the lock. false: the (value, token) did not hold it (nothing changed). */
  released: boolean;
}

export interface CancelResult {
  /** true: the waiter was removed from the queue. false: it was not queued. */
  cancelled: boolean;
  /**
   * With `cancelled: false`: the grant `value` holds the key with (its wait ended in a grant
   * before the cancel). The caller gave up on it: it releases this token.
   */
  fencingToken?: number;
}

export interface ForceReleaseResult {
  /** true: this call freed the grant `fencingToken`. false: the key was not held (by `token`). */
  released: boolean;
  /** The fencing token of the grant freed (a semaphore's: the newest freed), or null when nothing was freed. */
  fencingToken: number | null;
  /** Present for a semaphore key: the holders this call freed (all, or those of `token`). */
  semaphore?: { permitsFreed: number; fencingTokens: number[] };
}

/** One holder of a semaphore's permits, as `get` shows it. */
export interface PermitHolderInfo {
  /** The holder's value (null when an auth file hides other principals' values). */
  value: string | null;
  fencingToken: number;
  /** How many of the permits it holds. */
  count: number;
  /** Its lease time left on the leader's clock. */
  ttlRemainingMs: number | null;
}

/** What `get` adds for a semaphore key: N, the permits held and who holds them. */
export interface SemaphoreInfo {
  permits: number;
  held: number;
  holders: PermitHolderInfo[];
}

/** One holder of a reader-writer key, as `get` shows it. */
export interface RwHolderInfo {
  /** The holder's value (null when an auth file hides other principals' values). */
  value: string | null;
  fencingToken: number;
  mode: "read" | "write";
  /** Its lease time left on the leader's clock. */
  ttlRemainingMs: number | null;
}

export interface RwInfo {
  /** "write" while its writer holds the key, else "read" (one or more readers). */
  mode: "read" | "write";
  holders: RwHolderInfo[];
}

export interface GetResult {
  held: boolean;
  /**
   * The holder's value, or null when free. With an auth file, null also when the caller is
   * neither the principal that acquired the lock nor an admin (the value is not shown to others).
   */
  value: string | null;
  fencingToken: number | null;
  /** The lease time left on the leader's clock, or null when free. */
  ttlRemainingMs: number | null;
  /** Clients queued for the key. */
  waiters: number;
  /**
   * Present for a semaphore key (then `held` is true, `value` null, `fencingToken` the newest
   * holder's and `ttlRemainingMs` the longest lease left).
   */
  semaphore?: SemaphoreInfo;
  /**
   * Present for a reader-writer key (then `held` is true, `value` the writer's or null while
   * readers hold it, `fencingToken` the newest holder's, `ttlRemainingMs` the longest lease left).
   */
  rw?: RwInfo;
}

/** What happened to a key; see the server's LockEvent for each type. */
export type WatchEventType =
  "granted" | "released" | "expired" | "queued" | "dequeued" | "delayEnded";

export interface WatchEvent {
  /** The Raft index of the entry that caused it (events of one entry share it, in fixed order). */
  revision: number;
  type: WatchEventType;
  key: string;
  /** The holder or waiter concerned; null for delayEnded (and, with auth, for others' values). */
  value: string | null;
  /** The grant's fencing token (granted, released, expired); 0 otherwise. */
  token: number;
  /** dequeued only: why the waiter left the queue. */
  reason?: "expired" | "cancelled" | "left";
  /**
   * A reader-writer key's event (not delayEnded): whether the holder or waiter concerned reads or
   * writes. Absent for other keys, and from servers older than this field.
   */
  mode?: "read" | "write";
  /** A semaphore key's event (not delayEnded): the key's N. Absent as `mode` is. */
  permits?: number;
  /** With `permits`: how many of them the holder or waiter concerned holds or asks for. */
  count?: number;
}

export interface WatchResult {
  events: WatchEvent[];
  /** Every matching event up to this revision has been delivered: resume from revision + 1. */
  revision: number;
}

export interface ListedLock {
  key: string;
  /** The holder's value, or null when the key has no holder (queued behind a lock delay). */
  value: string | null;
  fencingToken: number | null;
  /** The waiters' values, in queue order. */
  waiters: Array<string | null>;
  inLockDelay: boolean;
  /**
   * Present for a semaphore key (then `value` is null): N, the permits held and each holder's
   * count. A list reads the table, not the leases: every holder's ttlRemainingMs is null.
   */
  semaphore?: SemaphoreInfo;
  /**
   * Present for a reader-writer key (then `value` is its writer's, null while readers hold it):
   * the mode and each holder's; ttlRemainingMs null as for a semaphore.
   */
  rw?: RwInfo;
}

export interface ListResult {
  locks: ListedLock[];
  /** The applied revision the page was read at: watch from revision + 1 to follow it. */
  revision: number;
  /** More locks follow: ask again with `after` = the last key of this page. */
  more: boolean;
}

export type MemberRole =
  "leader" | "follower" | "candidate" | "preCandidate" | "learner" | "unknown";

export interface MemberStatus {
  id: string;
  role: MemberRole;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  /** Answered recently (as seen by the node that reports). */
  healthy: boolean;
  /** "host:port" of its client port, if known. */
  clientAddress?: string | null;
}

export interface StatusResult {
  /** The leader's id, or null when there is none right now. */
  leader: string | null;
  term: number;
  members: MemberStatus[];
  /** The lock table's limits in force on the answering node (absent from older servers). */
  tableLimits?: TableLimitsStatus;
}

/**
 * The lock table's limits in force (replicated through the log, so equal on every member that
 * applied as far), by the names of TABLE_LIMIT_NAMES.
 */
export type TableLimitsStatus = Record<TableLimitName, number> & {
  /** Set by a log entry (false: none applied yet, and these are the node's own flags). */
  replicated: boolean;
  /** The answering node's flags differ from these (as leader it would propose its own). */
  configuredDiffers: boolean;
};

/** One member of the configuration, as the leader sees it. */
export interface MemberInfo {
  id: string;
  /** Voters elect and commit; learners receive the log and do not vote. */
  kind: "voter" | "learner";
  /** "host:port" of its peer port, as given when it was added (or in the initial list). */
  peerAddress: string | null;
  /** "host:port" of its client port, if it announced one. */
  clientAddress: string | null;
  /** Highest log index known to be on it (the leader's own last index for the leader). */
  matchIndex: number;
  /** Answered the leader within the last election timeout (always true for the leader). */
  healthy: boolean;
}

export interface MembersResult {
  /** The leader that answered (null only after it removed itself and stepped down). */
  leader: string | null;
  term: number;
  commitIndex: number;
  members: MemberInfo[];
}

/** The result type of each request type. */
export interface ResultByRequestType {
  acquire: AcquireResult;
  semaphoreAcquire: AcquireResult;
  rwAcquire: AcquireResult;
  refresh: RefreshResult;
  release: ReleaseResult;
  cancel: CancelResult;
  forceRelease: ForceReleaseResult;
  get: GetResult;
  watch: WatchResult;
  list: ListResult;
  status: StatusResult;
  members: MembersResult;
  addMember: MembersResult;
  promoteMember: MembersResult;
  removeMember: MembersResult;
}

// ---- Responses ---------------------------------------------------------------------------------

/** A successful answer to the request `id`. */
export interface OkFrame<R = unknown> {
  type: "ok";
  id: number;
  result: R;
}

/**
 * A failed request (`id` set), or a connection-level failure (`id` null: bad hello, malformed or
 * oversize frame), after which the sender closes the connection.
 */
export interface ErrorFrame {
  type: "error";
  id: number | null;
  error: WireError;
}

export type ClientResponse = OkFrame | ErrorFrame;

// ---- Peers -------------------------------------------------------------------------------------

/**
 * Raft messages between peers, many per frame. The payload is opaque to this package: the server
 * puts `@dlock/raft` Message objects here (msgpack carries their Uint8Arrays as binary).
 */
export interface RaftBatchFrame {
  type: "raft";
  messages: unknown[];
}

/** Every frame that can appear on a connection. */
export type Frame = HelloFrame | ClientRequest | OkFrame | ErrorFrame | RaftBatchFrame;

export type { LeaderHint, WireError };
