// Typed errors with stable codes. A server answers with `toWire()` of an error; the client rebuilds
// the same class with `errorFromWire`, so `instanceof LockBusyError` works across the network.
import { CodedError } from "./coded-error.js";

/** Stable error codes. They cross the wire and are part of the public contract: never rename one. */
export type ErrorCode =
  | "LOCK_BUSY"
  | "NOT_OWNER"
  | "LOCK_LOST"
  | "CLUSTER_UNAVAILABLE"
  | "INVALID_ARGUMENT"
  | "TIMED_OUT"
  | "ABORTED"
  | "NOT_LEADER"
  | "FRAME_TOO_LARGE"
  | "MALFORMED_FRAME"
  | "HANDSHAKE_FAILED"
  | "TOO_MANY_REQUESTS"
  | "OVERLOADED"
  | "CONNECTION_CLOSED"
  | "CONFIG_CHANGE_REFUSED"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "KIND_MISMATCH"
  | "SEMAPHORE_PERMITS_MISMATCH"
  | "WATCH_REVISION_COMPACTED"
  | "LOCKS_FULL"
  | "INTERNAL";

/** Where a follower believes the leader is: its node id and its client-facing address, if known. */
export interface LeaderHint {
  id: string;
  /** "host:port" of the leader's client port, or null if the follower does not know it. */
  clientAddress: string | null;
}

/** Why a membership change was refused. */
export type ConfigChangeRefusal =
  /** An earlier change is not committed yet: one change at a time. */
  | "inProgress"
  /** The change makes no sense: adding a member twice, promoting a voter, removing a stranger. */
  | "invalid"
  /** The learner to promote is too far behind the leader. */
  | "notCaughtUp"
  /** Too few voters would be reachable afterwards to form a quorum. */
  | "wouldLoseQuorum"
  /** A leadership transfer is running; retry after it. */
  | "transferInProgress";

/** Why a handshake was refused. */
export type HandshakeFailureReason =
  | "protocolVersion"
  | "clusterId"
  | "role"
  | "nodeId"
  | "malformed"
  | "timeout"
  /** A voter came back with another data folder than the one it voted with (its disk was lost). */
  | "dataReplaced";

/**
 * An error as it travels in a frame. `code` and `message` are always present; the other fields
 * belong to particular codes (see the class of each code).
 */
export interface WireError {
  code: ErrorCode;
  message: string;
  /** INVALID_ARGUMENT: the option, field or argument at fault. */
  field?: string;
  /** LOCK_BUSY / LOCK_LOST: the key concerned. */
  key?: string;
  /** NOT_LEADER: where to go instead (null: the leader is unknown right now). */
  leaderHint?: LeaderHint | null;
  /**
   * NOT_LEADER: true when the request certainly had no effect (refused before it was proposed,
   * or another entry was committed in its log slot). Absent or false: it may still apply.
   */
  notApplied?: boolean;
  /** FRAME_TOO_LARGE: the announced frame length and the limit it broke. */
  frameBytes?: number;
  frameBytesMax?: number;
  /** HANDSHAKE_FAILED: which part of the handshake did not match. */
  reason?: HandshakeFailureReason;
  /** TOO_MANY_REQUESTS / OVERLOADED: a hint for how long to back off. */
  retryAfterMs?: number;
  /** CONFIG_CHANGE_REFUSED: why. */
  refusal?: ConfigChangeRefusal;
  /** PERMISSION_DENIED: the request type refused (e.g. "acquire", "addMember"). */
  operation?: string;
  /** WATCH_REVISION_COMPACTED: the oldest revision the server's event history still holds. */
  oldestRevision?: number;
}

/** The base class of every dlock error. */
export class DlockError extends CodedError<ErrorCode> {
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "DlockError";
  }

  /** The form that crosses the wire. Subclasses add their structured fields. */
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

/** The lock is held by another value (after every retry the caller allowed, or after `wait`). */
export class LockBusyError extends DlockError {
  readonly key: string;
  constructor(key: string, message = `lock "${key}" is held by another holder`) {
    super("LOCK_BUSY", message);
    this.name = "LockBusyError";
    this.key = key;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, key: this.key };
  }
}

/** A refresh or release named a (value, token) that does not hold the lock any more. */
export class NotOwnerError extends DlockError {
  constructor(message: string) {
    super("NOT_OWNER", message);
    this.name = "NotOwnerError";
  }
}

/** The client can no longer vouch for the lock: a refresh failed or its validity ran out. */
export class LockLostError extends DlockError {
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super("LOCK_LOST", message, options);
    this.name = "LockLostError";
    this.key = key;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, key: this.key };
  }
}

/** No leader could be reached (no quorum, or every endpoint down) before the deadline. */
export class ClusterUnavailableError extends DlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CLUSTER_UNAVAILABLE", message, options);
    this.name = "ClusterUnavailableError";
  }
}

/** An argument, option or request field is out of range or of the wrong type. */
export class InvalidArgumentError extends DlockError {
  /** The option, field or argument at fault (e.g. "ttl", "key"). */
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super("INVALID_ARGUMENT", `${field}: ${message}`, options);
    this.name = "InvalidArgumentError";
    this.field = field;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, field: this.field };
  }
}

/** A request got no answer within its timeout. It may or may not have taken effect. */
export class TimedOutError extends DlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("TIMED_OUT", message, options);
    this.name = "TimedOutError";
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends DlockError {
  constructor(message = "aborted", options?: { cause?: unknown }) {
    super("ABORTED", message, options);
    this.name = "AbortedError";
  }
}

/**
 * The node that received the request is not the leader; `leaderHint` says where to go, if known.
 * `notApplied`: the request certainly had no effect (otherwise it may still take effect).
 */
export class NotLeaderError extends DlockError {
  readonly leaderHint: LeaderHint | null;
  readonly notApplied: boolean;
  constructor(leaderHint: LeaderHint | null, message?: string, options?: { notApplied?: boolean }) {
    super(
      "NOT_LEADER",
      message ?? `not the leader${leaderHint ? `; the leader is ${leaderHint.id}` : ""}`,
    );
    this.name = "NotLeaderError";
    this.leaderHint = leaderHint;
    this.notApplied = options?.notApplied ?? false;
  }

  override toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      leaderHint: this.leaderHint,
      ...(this.notApplied ? { notApplied: true } : {}),
    };
  }
}

/** A frame announced a length over the limit. The connection is closed after this error. */
export class FrameTooLargeError extends DlockError {
  readonly frameBytes: number;
  readonly frameBytesMax: number;
  constructor(frameBytes: number, frameBytesMax: number) {
    super("FRAME_TOO_LARGE", `frame of ${frameBytes} bytes exceeds the limit of ${frameBytesMax}`);
    this.name = "FrameTooLargeError";
    this.frameBytes = frameBytes;
    this.frameBytesMax = frameBytesMax;
  }

  override toWire(): WireError {
    return {
      code: this.code,
      message: this.message,
      frameBytes: this.frameBytes,
      frameBytesMax: this.frameBytesMax,
    };
  }
}

/** A frame body that is not valid msgpack, or not a message of the expected shape. */
export class MalformedFrameError extends DlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("MALFORMED_FRAME", message, options);
    this.name = "MalformedFrameError";
  }
}

/** The peer spoke another protocol version, belongs to another cluster, or sent no valid hello. */
export class HandshakeFailedError extends DlockError {
  readonly reason: HandshakeFailureReason;
  constructor(reason: HandshakeFailureReason, message: string) {
    super("HANDSHAKE_FAILED", message);
    this.name = "HandshakeFailedError";
    this.reason = reason;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, reason: this.reason };
  }
}

/** An error that tells the caller to back off, with a hint of how long when the sender knows. */
export abstract class RetryAfterError extends DlockError {
  readonly retryAfterMs: number | null;
  constructor(
    code: "TOO_MANY_REQUESTS" | "OVERLOADED",
    message: string,
    retryAfterMs: number | null,
  ) {
    super(code, message);
    this.retryAfterMs = retryAfterMs;
  }

  override toWire(): WireError {
    return this.retryAfterMs === null
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, retryAfterMs: this.retryAfterMs };
  }
}

/** The connection has too many requests in flight; back off. */
export class TooManyRequestsError extends RetryAfterError {
  constructor(message: string, retryAfterMs: number | null = null) {
    super("TOO_MANY_REQUESTS", message, retryAfterMs);
    this.name = "TooManyRequestsError";
  }
}

/** The node is shedding load (queues full, too many connections); back off and retry. */
export class OverloadedError extends RetryAfterError {
  constructor(message: string, retryAfterMs: number | null = null) {
    super("OVERLOADED", message, retryAfterMs);
    this.name = "OverloadedError";
  }
}

/** The connection closed before the answer came. The request may or may not have taken effect. */
export class ConnectionClosedError extends DlockError {
  constructor(message = "connection closed", options?: { cause?: unknown }) {
    super("CONNECTION_CLOSED", message, options);
    this.name = "ConnectionClosedError";
  }
}

/** A membership change was refused; `refusal` says why, the message says what to do. */
export class ConfigChangeRefusedError extends DlockError {
  readonly refusal: ConfigChangeRefusal;
  constructor(refusal: ConfigChangeRefusal, message: string) {
    super("CONFIG_CHANGE_REFUSED", message);
    this.name = "ConfigChangeRefusedError";
    this.refusal = refusal;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, refusal: this.refusal };
  }
}

/**
 * The connection's credentials (auth token or client certificate) are missing or unknown. Sent at
 * the handshake, after which the server closes the connection; retrying elsewhere cannot help.
 */
export class UnauthenticatedError extends DlockError {
  constructor(message: string) {
    super("UNAUTHENTICATED", message);
    this.name = "UnauthenticatedError";
  }
}

/** The authenticated principal has no grant for this operation (on this key). Nothing changed. */
export class PermissionDeniedError extends DlockError {
  /** The request type refused. */
  readonly operation: string;
  /** The key concerned, or null for an operation on no key (membership). */
  readonly key: string | null;
  constructor(operation: string, key: string | null, message?: string) {
    super(
      "PERMISSION_DENIED",
      message ??
        `permission denied: ${operation}${key === null ? "" : ` on "${key}"`} is not granted to this client`,
    );
    this.name = "PermissionDeniedError";
    this.operation = operation;
    this.key = key;
  }

  override toWire(): WireError {
    return this.key === null
      ? { code: this.code, message: this.message, operation: this.operation }
      : { code: this.code, message: this.message, operation: this.operation, key: this.key };
  }
}

/**
 * The key is in use as another kind of primitive (a lock acquire on a semaphore's key, or the
 * reverse). Nothing changed; use another key, or the primitive the key is in use as.
 */
export class KindMismatchError extends DlockError {
  readonly key: string;
  constructor(key: string, message = `key "${key}" is in use as another kind of primitive`) {
    super("KIND_MISMATCH", message);
    this.name = "KindMismatchError";
    this.key = key;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, key: this.key };
  }
}

/**
 * A semaphore acquire named a permit count other than the one the key's holders and waiters use
 * (fixed by its first acquirer). Nothing changed; use the same permits.
 */
export class PermitsMismatchError extends DlockError {
  readonly key: string;
  constructor(key: string, message = `semaphore "${key}" has a different number of permits`) {
    super("SEMAPHORE_PERMITS_MISMATCH", message);
    this.name = "PermitsMismatchError";
    this.key = key;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, key: this.key };
  }
}

/**
 * The lock table holds as many keys as the cluster's --locks-max allows, so a new key was refused.
 * Nothing changed, and retrying soon cannot help: release keys that are no longer needed, or raise
 * --locks-max on every member. Acquires of keys already in the table still work.
 */
export class LocksFullError extends DlockError {
  constructor(message = "the lock table is full") {
    super("LOCKS_FULL", message);
    this.name = "LocksFullError";
  }
}

/**
 * A watch asked for events older than the server's bounded event history (it fell behind, or the
 * leader restarted or installed a snapshot). Nothing is lost from the table: list the keys to
 * learn their state and the revision it was read at, then watch again from that revision + 1.
 */
export class WatchRevisionCompactedError extends DlockError {
  /** The oldest revision still in the history (0: unknown). */
  readonly oldestRevision: number;
  constructor(oldestRevision: number, message?: string) {
    super(
      "WATCH_REVISION_COMPACTED",
      message ??
        `the events asked for are no longer in the server's history (it starts at revision ${oldestRevision}); list the keys and watch again from the list's revision + 1`,
    );
    this.name = "WatchRevisionCompactedError";
    this.oldestRevision = oldestRevision;
  }

  override toWire(): WireError {
    return { code: this.code, message: this.message, oldestRevision: this.oldestRevision };
  }
}

/** A bug or an unexpected failure on the other side. */
export class InternalError extends DlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INTERNAL", message, options);
    this.name = "InternalError";
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const optionalNumber = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;

function leaderHintFromWire(value: unknown): LeaderHint | null {
  if (!isRecord(value) || typeof value.id !== "string") return null;
  const clientAddress = typeof value.clientAddress === "string" ? value.clientAddress : null;
  return { id: value.id, clientAddress };
}

const CONFIG_CHANGE_REFUSALS: ReadonlySet<string> = new Set<ConfigChangeRefusal>([
  "inProgress",
  "invalid",
  "notCaughtUp",
  "wouldLoseQuorum",
  "transferInProgress",
]);

const HANDSHAKE_REASONS: ReadonlySet<string> = new Set([
  "protocolVersion",
  "clusterId",
  "role",
  "nodeId",
  "malformed",
  "timeout",
  "dataReplaced",
]);

/**
 * Rebuilds the typed error a peer sent. Anything that is not a well-formed WireError (including
 * codes this version does not know) becomes an InternalError that keeps the remote text.
 */
export function errorFromWire(value: unknown): DlockError {
  if (!isRecord(value) || typeof value.code !== "string" || typeof value.message !== "string") {
    return new InternalError("malformed error from peer");
  }
  const message = value.message;
  switch (value.code as ErrorCode) {
    case "LOCK_BUSY":
      return new LockBusyError(typeof value.key === "string" ? value.key : "", message);
    case "NOT_OWNER":
      return new NotOwnerError(message);
    case "LOCK_LOST":
      return new LockLostError(typeof value.key === "string" ? value.key : "", message);
    case "CLUSTER_UNAVAILABLE":
      return new ClusterUnavailableError(message);
    case "INVALID_ARGUMENT": {
      const field = typeof value.field === "string" ? value.field : "request";
      // The remote message already starts with "field: "; do not repeat it.
      const prefix = `${field}: `;
      const detail = message.startsWith(prefix) ? message.slice(prefix.length) : message;
      return new InvalidArgumentError(field, detail);
    }
    case "TIMED_OUT":
      return new TimedOutError(message);
    case "ABORTED":
      return new AbortedError(message);
    case "NOT_LEADER":
      return new NotLeaderError(leaderHintFromWire(value.leaderHint), message, {
        notApplied: value.notApplied === true,
      });
    case "FRAME_TOO_LARGE":
      return new FrameTooLargeError(
        optionalNumber(value.frameBytes) ?? 0,
        optionalNumber(value.frameBytesMax) ?? 0,
      );
    case "MALFORMED_FRAME":
      return new MalformedFrameError(message);
    case "HANDSHAKE_FAILED": {
      const reason =
        typeof value.reason === "string" && HANDSHAKE_REASONS.has(value.reason)
          ? (value.reason as HandshakeFailureReason)
          : "malformed";
      return new HandshakeFailedError(reason, message);
    }
    case "TOO_MANY_REQUESTS":
      return new TooManyRequestsError(message, optionalNumber(value.retryAfterMs));
    case "OVERLOADED":
      return new OverloadedError(message, optionalNumber(value.retryAfterMs));
    case "CONNECTION_CLOSED":
      return new ConnectionClosedError(message);
    case "CONFIG_CHANGE_REFUSED": {
      const refusal =
        typeof value.refusal === "string" && CONFIG_CHANGE_REFUSALS.has(value.refusal)
          ? (value.refusal as ConfigChangeRefusal)
          : "invalid";
      return new ConfigChangeRefusedError(refusal, message);
    }
    case "UNAUTHENTICATED":
      return new UnauthenticatedError(message);
    case "PERMISSION_DENIED":
      return new PermissionDeniedError(
        typeof value.operation === "string" ? value.operation : "unknown",
        typeof value.key === "string" ? value.key : null,
        message,
      );
    case "KIND_MISMATCH":
      return new KindMismatchError(typeof value.key === "string" ? value.key : "", message);
    case "SEMAPHORE_PERMITS_MISMATCH":
      return new PermitsMismatchError(typeof value.key === "string" ? value.key : "", message);
    case "WATCH_REVISION_COMPACTED":
      return new WatchRevisionCompactedError(optionalNumber(value.oldestRevision) ?? 0, message);
    case "LOCKS_FULL":
      return new LocksFullError(message);
    case "INTERNAL":
      return new InternalError(message);
    default:
      return new InternalError(`${value.code}: ${message}`);
  }
}

/** The wire form of any thrown value: DlockErrors keep their code, anything else is INTERNAL. */
export function errorToWire(error: unknown): WireError {
  if (error instanceof DlockError) return error.toWire();
  const message = error instanceof Error ? error.message : String(error);
  return { code: "INTERNAL", message };
}
