// Shape checks for decoded frames. msgpack gives back any value at all; nothing past these
// functions sees a field of the wrong type, so bad input becomes a typed error, never a crash.
import type { WireError } from "./errors.js";
import { InvalidArgumentError, MalformedFrameError } from "./errors.js";
import {
  TABLE_LIMIT_NAMES,
  validateDurationMs,
  validateHostPort,
  validateId,
  validateKey,
  validatePermits,
  validateKeyPrefix,
  validateRequestId,
  validateToken,
  validateValue,
} from "./limits.js";
import type {
  AcquireResult,
  CancelResult,
  ForceReleaseResult,
  ClientRequest,
  ClientRequestType,
  ClientResponse,
  GetResult,
  ListedLock,
  ListResult,
  MemberInfo,
  MembersResult,
  MemberRole,
  MemberStatus,
  PermitHolderInfo,
  RwHolderInfo,
  RwInfo,
  RaftBatchFrame,
  RefreshResult,
  ReleaseResult,
  ResultByRequestType,
  SemaphoreInfo,
  StatusResult,
  TableLimitsStatus,
  WatchEvent,
  WatchEventType,
  WatchResult,
} from "./messages.js";
import { LIST_LIMIT_MAX, WATCH_EVENTS_MAX, WATCH_WAIT_MS_MAX } from "./watch-limits.js";

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Largest request id; ids are positive integers chosen by the client. */
export const REQUEST_ID_MAX = 2 ** 31 - 1;

const isRequestId = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= REQUEST_ID_MAX;

/**
 * The request id of a body that failed `parseClientRequest`, so the server can answer that
 * request (null: no usable id; answer with a connection-level error and close).
 */
export function peekRequestId(body: unknown): number | null {
  return isRecord(body) && isRequestId(body.id) ? body.id : null;
}

/**
 * Reads a client request. Throws MalformedFrameError when the body is not a request at all (no
 * usable id), InvalidArgumentError naming the field when a field is wrong (the id is then valid:
 * answer that request with the error).
 */
export function parseClientRequest(body: unknown): ClientRequest {
  if (!isRecord(body)) throw new MalformedFrameError("a request must be a map");
  const id = body.id;
  if (!isRequestId(id)) {
    throw new MalformedFrameError(`a request needs an integer id in [1, ${REQUEST_ID_MAX}]`);
  }
  switch (body.type) {
    case "acquire": {
      const request: ClientRequest = {
        type: "acquire",
        id,
        key: validateKey(body.key),
        value: validateValue(body.value),
        ttlMs: validateDurationMs(body.ttlMs, "ttlMs", 1),
        requestId: validateRequestId(body.requestId),
      };
      if (body.waitMs !== undefined && body.waitMs !== null) {
        request.waitMs = validateDurationMs(body.waitMs, "waitMs");
      }
      return request;
    }
    case "semaphoreAcquire": {
      const request: ClientRequest = {
        type: "semaphoreAcquire",
        id,
        key: validateKey(body.key),
        value: validateValue(body.value),
        ttlMs: validateDurationMs(body.ttlMs, "ttlMs", 1),
        requestId: validateRequestId(body.requestId),
        permits: validatePermits(body.permits, "permits"),
      };
      if (body.waitMs !== undefined && body.waitMs !== null) {
        request.waitMs = validateDurationMs(body.waitMs, "waitMs");
      }
      if (body.count !== undefined && body.count !== null) {
        request.count = validatePermits(body.count, "count");
      }
      return request;
    }
    case "rwAcquire": {
      if (body.mode !== "read" && body.mode !== "write")
        throw new InvalidArgumentError("mode", 'must be "read" or "write"');
      const request: ClientRequest = {
        type: "rwAcquire",
        id,
        key: validateKey(body.key),
        value: validateValue(body.value),
        ttlMs: validateDurationMs(body.ttlMs, "ttlMs", 1),
        requestId: validateRequestId(body.requestId),
        mode: body.mode,
      };
      if (body.waitMs !== undefined && body.waitMs !== null) {
        request.waitMs = validateDurationMs(body.waitMs, "waitMs");
      }
      return request;
    }
    case "refresh":
      return {
        type: "refresh",
        id,
        key: validateKey(body.key),
        value: validateValue(body.value),
        token: validateToken(body.token),
        ttlMs: validateDurationMs(body.ttlMs, "ttlMs", 1),
      };
    case "release": {
      const request: ClientRequest = {
        type: "release",
        id,
        key: validateKey(body.key),
        value: validateValue(body.value),
      };
      if (body.token !== undefined && body.token !== null) {
        request.token = validateToken(body.token);
      }
      return request;
    }
    case "cancel":
      return {
        type: "cancel",
        id,
        key: validateKey(body.key),
        value: validateValue(body.value),
        requestId: validateRequestId(body.requestId),
      };
    case "forceRelease": {
      const request: ClientRequest = { type: "forceRelease", id, key: validateKey(body.key) };
      if (body.token !== undefined && body.token !== null) {
        request.token = validateToken(body.token);
      }
      return request;
    }
    case "get":
      return { type: "get", id, key: validateKey(body.key) };
    case "watch":
      return parseWatchRequest(id, body);
    case "list":
      return parseListRequest(id, body);
    case "status":
      return { type: "status", id };
    case "members":
      return { type: "members", id };
    case "addMember":
      return {
        type: "addMember",
        id,
        nodeId: validateId(body.nodeId, "nodeId"),
        peerAddress: validateHostPort(body.peerAddress, "peerAddress"),
      };
    case "promoteMember":
      return { type: "promoteMember", id, nodeId: validateId(body.nodeId, "nodeId") };
    case "removeMember":
      return { type: "removeMember", id, nodeId: validateId(body.nodeId, "nodeId") };
    default:
      throw new InvalidArgumentError("type", "unknown request type");
  }
}

const isAbsent = (value: unknown): boolean => value === undefined || value === null;

function integerIn(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(field, `must be a whole number in [${min}, ${max}]`);
  }
  return value;
}

function parseWatchRequest(id: number, body: Record<string, unknown>): ClientRequest {
  const prefix = body.prefix === true;
  if (!isAbsent(body.prefix) && typeof body.prefix !== "boolean") {
    throw new InvalidArgumentError("prefix", "must be a boolean");
  }
  const request: ClientRequest = {
    type: "watch",
    id,
    key: prefix ? validateKeyPrefix(body.key, "key") : validateKey(body.key),
  };
  if (prefix) request.prefix = true;
  if (!isAbsent(body.fromRevision)) {
    request.fromRevision = integerIn(body.fromRevision, "fromRevision", 1, Number.MAX_SAFE_INTEGER);
  }
  if (!isAbsent(body.waitMs)) {
    request.waitMs = integerIn(body.waitMs, "waitMs", 0, WATCH_WAIT_MS_MAX);
  }
  if (!isAbsent(body.eventsMax)) {
    request.eventsMax = integerIn(body.eventsMax, "eventsMax", 1, WATCH_EVENTS_MAX);
  }
  return request;
}

function parseListRequest(id: number, body: Record<string, unknown>): ClientRequest {
  const request: ClientRequest = { type: "list", id, prefix: validateKeyPrefix(body.prefix) };
  if (!isAbsent(body.after)) request.after = validateKey(body.after, "after");
  if (!isAbsent(body.limit)) request.limit = integerIn(body.limit, "limit", 1, LIST_LIMIT_MAX);
  return request;
}

/** Reads a server's answer frame (ok or error). Throws MalformedFrameError for anything else. */
export function parseClientResponse(body: unknown): ClientResponse {
  if (!isRecord(body)) throw new MalformedFrameError("a response must be a map");
  if (body.type === "ok") {
    if (!isRequestId(body.id)) throw new MalformedFrameError("an ok response needs a request id");
    return { type: "ok", id: body.id, result: body.result };
  }
  if (body.type === "error") {
    const id = body.id === null || body.id === undefined ? null : body.id;
    if (id !== null && !isRequestId(id)) {
      throw new MalformedFrameError("an error response has a bad request id");
    }
    if (!isRecord(body.error) || typeof body.error.code !== "string") {
      throw new MalformedFrameError("an error response needs an error with a code");
    }
    return { type: "error", id, error: body.error as unknown as WireError };
  }
  throw new MalformedFrameError(`unexpected frame type on a client connection`);
}

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** A duration in a result: any finite non-negative number, rounded down (the cautious side). */
const isDurationMs = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;

const optionalDurationMs = (value: unknown): number | null | undefined =>
  value === null ? null : isDurationMs(value) ? Math.floor(value) : undefined;

function bad(type: ClientRequestType): never {
  throw new MalformedFrameError(`malformed ${type} result`);
}

const MEMBER_ROLES: ReadonlySet<string> = new Set<MemberRole>([
  "leader",
  "follower",
  "candidate",
  "preCandidate",
  "learner",
  "unknown",
]);

function parseTableLimitsStatus(value: unknown): TableLimitsStatus {
  if (!isRecord(value)) bad("status");
  const limits = value as Record<string, unknown>;
  const { replicated, configuredDiffers } = limits;
  if (typeof replicated !== "boolean" || typeof configuredDiffers !== "boolean") bad("status");
  const parsed = {} as TableLimitsStatus;
  for (const name of TABLE_LIMIT_NAMES) {
    const limit = limits[name];
    if (!isCount(limit)) bad("status");
    parsed[name] = limit;
  }
  parsed.replicated = replicated as boolean;
  parsed.configuredDiffers = configuredDiffers as boolean;
  return parsed;
}

function parseMember(value: unknown): MemberStatus {
  if (
    !isRecord(value) ||
    typeof value.id !== "string" ||
    typeof value.role !== "string" ||
    !isCount(value.term) ||
    !isCount(value.commitIndex) ||
    !isCount(value.appliedIndex) ||
    typeof value.healthy !== "boolean"
  ) {
    bad("status");
  }
  const member: MemberStatus = {
    id: value.id,
    role: MEMBER_ROLES.has(value.role) ? (value.role as MemberRole) : "unknown",
    term: value.term,
    commitIndex: value.commitIndex,
    appliedIndex: value.appliedIndex,
    healthy: value.healthy,
  };
  if (typeof value.clientAddress === "string" || value.clientAddress === null) {
    member.clientAddress = value.clientAddress;
  }
  return member;
}

function parseMemberInfo(value: unknown, type: ClientRequestType): MemberInfo {
  if (
    !isRecord(value) ||
    typeof value.id !== "string" ||
    (value.kind !== "voter" && value.kind !== "learner") ||
    !(value.peerAddress === null || typeof value.peerAddress === "string") ||
    !(value.clientAddress === null || typeof value.clientAddress === "string") ||
    !isCount(value.matchIndex) ||
    typeof value.healthy !== "boolean"
  ) {
    bad(type);
  }
  return {
    id: value.id,
    kind: value.kind,
    peerAddress: value.peerAddress,
    clientAddress: value.clientAddress,
    matchIndex: value.matchIndex,
    healthy: value.healthy,
  };
}

function parseMembersResult(
  result: Record<string, unknown>,
  type: ClientRequestType,
): MembersResult {
  const { leader, term, commitIndex, members } = result;
  if (!(leader === null || typeof leader === "string") || !isCount(term) || !isCount(commitIndex)) {
    bad(type);
  }
  if (!Array.isArray(members)) bad(type);
  return {
    leader,
    term,
    commitIndex,
    members: (members as unknown[]).map((m) => parseMemberInfo(m, type)),
  };
}

const WATCH_EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>([
  "granted",
  "released",
  "expired",
  "queued",
  "dequeued",
  "delayEnded",
]);

const isNullableString = (value: unknown): value is string | null =>
  value === null || typeof value === "string";

function parseWatchEvent(value: unknown): WatchEvent {
  if (
    !isRecord(value) ||
    !isCount(value.revision) ||
    typeof value.type !== "string" ||
    !WATCH_EVENT_TYPES.has(value.type) ||
    typeof value.key !== "string" ||
    !isNullableString(value.value) ||
    !isCount(value.token)
  ) {
    bad("watch");
  }
  const event: WatchEvent = {
    revision: value.revision,
    type: value.type as WatchEventType,
    key: value.key,
    value: value.value,
    token: value.token,
  };
  if (value.reason === "expired" || value.reason === "cancelled" || value.reason === "left") {
    event.reason = value.reason;
  }
  // Added later, and optional: kept when well-formed, ignored otherwise (as unknown fields are).
  if (value.mode === "read" || value.mode === "write") event.mode = value.mode;
  if (isCount(value.permits) && isCount(value.count) && value.count <= value.permits) {
    event.permits = value.permits;
    event.count = value.count;
  }
  return event;
}

function parseSemaphoreInfo(value: unknown, type: "get" | "list" = "get"): SemaphoreInfo {
  if (
    !isRecord(value) ||
    !isCount(value.permits) ||
    !isCount(value.held) ||
    !Array.isArray(value.holders)
  ) {
    bad(type);
  }
  const holders = value.holders.map((holder: unknown): PermitHolderInfo => {
    const common = parseHolderInfo(holder, type);
    const { count } = holder as { count: unknown };
    if (!isCount(count)) bad(type);
    return { ...common, count };
  });
  return { permits: value.permits, held: value.held, holders };
}

function parseRwInfo(value: unknown, type: "get" | "list" = "get"): RwInfo {
  if (!isRecord(value) || !isRwMode(value.mode) || !Array.isArray(value.holders)) bad(type);
  const holders = value.holders.map((holder: unknown): RwHolderInfo => {
    const common = parseHolderInfo(holder, type);
    const { mode } = holder as { mode: unknown };
    if (!isRwMode(mode)) bad(type);
    return { ...common, mode };
  });
  return { mode: value.mode, holders };
}

/** What every holder `get` shows (a semaphore's or a reader-writer key's) has: value, token, lease. */
function parseHolderInfo(
  holder: unknown,
  type: "get" | "list",
): {
  value: string | null;
  fencingToken: number;
  ttlRemainingMs: number | null;
} {
  if (!isRecord(holder) || !isNullableString(holder.value) || !isCount(holder.fencingToken)) {
    bad(type);
  }
  const ttlRemainingMs = optionalDurationMs(holder.ttlRemainingMs);
  if (ttlRemainingMs === undefined) bad(type);
  return { value: holder.value, fencingToken: holder.fencingToken, ttlRemainingMs };
}

function isRwMode(value: unknown): value is "read" | "write" {
  return value === "read" || value === "write";
}

function parseListedLock(value: unknown): ListedLock {
  if (
    !isRecord(value) ||
    typeof value.key !== "string" ||
    !isNullableString(value.value) ||
    !(value.fencingToken === null || isCount(value.fencingToken)) ||
    !Array.isArray(value.waiters) ||
    !value.waiters.every(isNullableString) ||
    typeof value.inLockDelay !== "boolean"
  ) {
    bad("list");
  }
  const listed: ListedLock = {
    key: value.key,
    value: value.value,
    fencingToken: value.fencingToken,
    waiters: value.waiters as Array<string | null>,
    inLockDelay: value.inLockDelay,
  };
  if (value.semaphore !== undefined) listed.semaphore = parseSemaphoreInfo(value.semaphore, "list");
  if (value.rw !== undefined) listed.rw = parseRwInfo(value.rw, "list");
  return listed;
}

/** Checks the result of an ok response against the type of the request it answers. */
export function parseResult<T extends ClientRequestType>(
  type: T,
  result: unknown,
): ResultByRequestType[T] {
  if (!isRecord(result)) bad(type);
  switch (type) {
    case "acquire":
    case "semaphoreAcquire":
    case "rwAcquire": {
      const { fencingToken, ttlMs, waitedMs } = result;
      if (!isCount(fencingToken) || fencingToken < 1 || !isDurationMs(ttlMs)) bad(type);
      const parsed: AcquireResult = {
        fencingToken,
        ttlMs: Math.floor(ttlMs),
        waitedMs: isDurationMs(waitedMs) ? Math.floor(waitedMs) : 0,
      };
      return parsed as ResultByRequestType[T];
    }
    case "refresh": {
      if (!isDurationMs(result.ttlMs)) bad(type);
      const parsed: RefreshResult = { ttlMs: Math.floor(result.ttlMs) };
      return parsed as ResultByRequestType[T];
    }
    case "release": {
      if (typeof result.released !== "boolean") bad(type);
      const parsed: ReleaseResult = { released: result.released };
      return parsed as ResultByRequestType[T];
    }
    case "cancel": {
      const { cancelled, fencingToken } = result;
      if (typeof cancelled !== "boolean") bad(type);
      if (fencingToken !== undefined && (!isCount(fencingToken) || fencingToken < 1)) bad(type);
      const parsed: CancelResult =
        fencingToken === undefined ? { cancelled } : { cancelled, fencingToken };
      return parsed as ResultByRequestType[T];
    }
    case "forceRelease": {
      const { released, fencingToken } = result;
      if (
        typeof released !== "boolean" ||
        !(fencingToken === null || (isCount(fencingToken) && fencingToken >= 1))
      ) {
        bad(type);
      }
      const parsed: ForceReleaseResult = { released, fencingToken };
      if (result.semaphore !== undefined) {
        const freed = result.semaphore;
        if (
          !isRecord(freed) ||
          !isCount(freed.permitsFreed) ||
          !Array.isArray(freed.fencingTokens) ||
          !freed.fencingTokens.every((token) => isCount(token) && token >= 1)
        ) {
          bad(type);
        }
        parsed.semaphore = {
          permitsFreed: freed.permitsFreed,
          fencingTokens: freed.fencingTokens as number[],
        };
      }
      return parsed as ResultByRequestType[T];
    }
    case "get": {
      const { held, value, fencingToken, waiters } = result;
      const ttlRemainingMs = optionalDurationMs(result.ttlRemainingMs);
      if (
        typeof held !== "boolean" ||
        !(value === null || typeof value === "string") ||
        !(fencingToken === null || isCount(fencingToken)) ||
        ttlRemainingMs === undefined ||
        !isCount(waiters)
      ) {
        bad(type);
      }
      const parsed: GetResult = { held, value, fencingToken, ttlRemainingMs, waiters };
      if (result.semaphore !== undefined) parsed.semaphore = parseSemaphoreInfo(result.semaphore);
      if (result.rw !== undefined) parsed.rw = parseRwInfo(result.rw);
      return parsed as ResultByRequestType[T];
    }
    case "watch": {
      const { events, revision } = result;
      if (!Array.isArray(events) || !isCount(revision)) bad(type);
      const parsed: WatchResult = { events: events.map(parseWatchEvent), revision };
      return parsed as ResultByRequestType[T];
    }
    case "list": {
      const { locks, revision, more } = result;
      if (!Array.isArray(locks) || !isCount(revision) || typeof more !== "boolean") bad(type);
      const parsed: ListResult = { locks: locks.map(parseListedLock), revision, more };
      return parsed as ResultByRequestType[T];
    }
    case "status": {
      const { leader, term, members } = result;
      if (!(leader === null || typeof leader === "string") || !isCount(term)) bad(type);
      if (!Array.isArray(members)) bad(type);
      const parsed: StatusResult = { leader, term, members: members.map(parseMember) };
      if (result.tableLimits !== undefined)
        parsed.tableLimits = parseTableLimitsStatus(result.tableLimits);
      return parsed as ResultByRequestType[T];
    }
    case "members":
    case "addMember":
    case "promoteMember":
    case "removeMember":
      return parseMembersResult(result, type) as ResultByRequestType[T];
    default:
      return bad(type);
  }
}

/** Reads a peer frame carrying Raft messages (their contents are the server's to check). */
export function parseRaftBatch(body: unknown): RaftBatchFrame {
  if (!isRecord(body) || body.type !== "raft" || !Array.isArray(body.messages)) {
    throw new MalformedFrameError("expected a raft batch frame");
  }
  return { type: "raft", messages: body.messages };
}
