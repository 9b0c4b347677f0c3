// Limits shared by client and server. Both sides enforce them: the client fails fast with a typed
// error that names the argument, the server refuses what a misbehaving client sends anyway.
import { parseHostPort } from "./address.js";
import { InvalidArgumentError } from "./errors.js";

/** Longest key, in UTF-8 bytes. */
export const KEY_BYTES_MAX = 512;
/** Longest auth token a client hello may carry (tokens are ~50 characters; a margin for others). */
export const AUTH_TOKEN_BYTES_MAX = 512;
/** Longest holder value, in UTF-8 bytes. */
export const VALUE_BYTES_MAX = 256;
/**
 * Longest acquire request id (used to make retried acquires idempotent), in UTF-8 bytes. Room
 * for a client id of ID_BYTES_MAX plus a call and attempt counter.
 */
export const REQUEST_ID_BYTES_MAX = 192;
/** Longest cluster, node or client id in a handshake, in UTF-8 bytes. */
export const ID_BYTES_MAX = 128;
/** Largest frame body a reader accepts. Raft batches (entries, snapshot chunks) must fit in it. */
export const FRAME_BYTES_MAX = 4 * 1024 * 1024;
/** Requests one client connection may have in flight; more are refused with TOO_MANY_REQUESTS. */
export const IN_FLIGHT_REQUESTS_MAX = 4096;
/**
 * Longest duration anywhere in the protocol (ttl, wait). Node timers overflow past 2^31 - 1 ms,
 * so a longer duration could fire at once instead of never.
 */
export const DURATION_MS_MAX = 2_147_483_647;

const utf8Encoder = new TextEncoder();

function utf8Bytes(text: string): number {
  // Every UTF-16 code unit takes at most 3 UTF-8 bytes: skip the count for short strings.
  return text.length <= 64 ? text.length * 3 : utf8Encoder.encode(text).length;
}

/** An auth token a hello may carry: a string of 1 to AUTH_TOKEN_BYTES_MAX UTF-8 bytes. */
export function isAuthToken(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length > 0 &&
    utf8Encoder.encode(value).length <= AUTH_TOKEN_BYTES_MAX
  );
}

function validateString(value: unknown, field: string, bytesMax: number): string {
  if (typeof value !== "string") throw new InvalidArgumentError(field, "must be a string");
  if (value.length === 0) throw new InvalidArgumentError(field, "must not be empty");
  if (value.length > bytesMax || utf8Bytes(value) > bytesMax) {
    const bytes = utf8Encoder.encode(value).length;
    if (bytes > bytesMax) {
      throw new InvalidArgumentError(field, `is ${bytes} bytes, more than the ${bytesMax} allowed`);
    }
  }
  return value;
}

/** A lock key: a non-empty string of at most KEY_BYTES_MAX UTF-8 bytes. */
export function validateKey(key: unknown, field = "key"): string {
  return validateString(key, field, KEY_BYTES_MAX);
}

/** A key prefix (watch, list): a string of at most KEY_BYTES_MAX UTF-8 bytes; "" = every key. */
export function validateKeyPrefix(prefix: unknown, field = "prefix"): string {
  if (prefix === "") return prefix;
  return validateString(prefix, field, KEY_BYTES_MAX);
}

/** A holder value: a non-empty string of at most VALUE_BYTES_MAX UTF-8 bytes. */
export function validateValue(value: unknown, field = "value"): string {
  return validateString(value, field, VALUE_BYTES_MAX);
}

/** An acquire request id: a non-empty string of at most REQUEST_ID_BYTES_MAX UTF-8 bytes. */
export function validateRequestId(requestId: unknown, field = "requestId"): string {
  return validateString(requestId, field, REQUEST_ID_BYTES_MAX);
}

/** A cluster, node or client id. */
export function validateId(id: unknown, field: string): string {
  return validateString(id, field, ID_BYTES_MAX);
}

/** A "host:port" address (IPv6 hosts in brackets), port 1..65535. */
export function validateHostPort(value: unknown, field: string): string {
  parseHostPort(validateString(value, field, ID_BYTES_MAX), field);
  return value as string;
}

/** A whole number of milliseconds in [min, DURATION_MS_MAX]. */
export function validateDurationMs(value: unknown, field: string, min = 0): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new InvalidArgumentError(field, "must be a whole number of milliseconds");
  }
  if (value < min || value > DURATION_MS_MAX) {
    throw new InvalidArgumentError(field, `must be between ${min} and ${DURATION_MS_MAX} ms`);
  }
  return value;
}

/** A fencing token: a positive safe integer. */
export function validateToken(value: unknown, field = "token"): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(field, "must be a positive integer");
  }
  return value;
}

/**
 * Largest permit count a request may carry (N of a semaphore, or k of an acquire); the server's
 * own limit (semaphorePermitsMax) may be lower.
 */
export const PERMITS_MAX = 1_000_000;

/** A permit count: an integer in [1, PERMITS_MAX]. */
export function validatePermits(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > PERMITS_MAX) {
    throw new InvalidArgumentError(field, `must be an integer between 1 and ${PERMITS_MAX}`);
  }
  return value;
}

/**
 * Most waiters one key's queue may hold under any server configuration; the server's own limit
 * (waitersPerKeyMax) may be lower. A stored queue longer than this is corrupt data.
 */
export const WAITERS_PER_KEY_MAX = 65_536;

/**
 * The lock table's limits that the cluster replicates through its log, in their log and record
 * order (a format: never reordered).
 */
export const TABLE_LIMIT_NAMES = [
  "keyBytesMax",
  "valueBytesMax",
  "ttlMsMin",
  "ttlMsMax",
  "waitMsMax",
  "waitersPerKeyMax",
  "locksMax",
  "lockDelayMsMax",
  "semaphorePermitsMax",
] as const;

export type TableLimitName = (typeof TABLE_LIMIT_NAMES)[number];
