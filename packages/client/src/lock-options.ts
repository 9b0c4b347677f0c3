// The options of one lock() call (the `LockConfig` of the original Go library), their defaults
// in one place, and the one function that resolves and validates them.
import type { Duration } from "@dlock/protocol";
import { DURATION_MS_MAX, InvalidArgumentError, parseDuration } from "@dlock/protocol";

/** Options of `locker.lock()`. Durations are milliseconds or strings such as "500ms", "10s", "1m". */
export interface LockOptions {
  /** Lease length: the cluster releases the lock if it is not refreshed within it. Default 30 s. */
  ttl?: Duration;
  /** How often the lock is refreshed while held; 0 turns auto-refresh off. Default ttl / 3. */
  refreshInterval?: Duration;
  /** Wait between attempts while the lock is held by someone else. Default 250 ms. */
  retryInterval?: Duration;
  /**
   * Up to this much random extra wait is added to each retryInterval, so that clients that lost
   * the same race spread out. Default retryInterval / 4; 0 turns it off.
   */
  retryJitter?: Duration;
  /** Attempts after the first before giving up with LockBusyError. Default 0 (try once). */
  retryLimit?: number;
  /**
   * Wait in the key's fair FIFO queue up to this long per attempt, instead of polling.
   * Default 0 (off: a busy lock answers at once).
   */
  wait?: Duration;
  /** Cancels acquisition (and leaves the queue). */
  signal?: AbortSignal;
}

/** An option function in the style of the original Go API: `withTTL(60_000)`. */
export type LockOption = (options: LockOptions) => void;

export const DEFAULT_TTL_MS = 30_000;
export const DEFAULT_RETRY_INTERVAL_MS = 250;
export const DEFAULT_RETRY_LIMIT = 0;
export const DEFAULT_WAIT_MS = 0;
/** The default retry jitter is this fraction of the retry interval. */
export const DEFAULT_RETRY_JITTER_FRACTION = 1 / 4;
/** The default refresh interval is this fraction of the ttl. */
export const DEFAULT_REFRESH_FRACTION = 1 / 3;
/** Upper bound on retryLimit: every retry loop is bounded. */
export const RETRY_LIMIT_MAX = 1_000_000;

/** `LockOptions` with defaults filled in and every duration in milliseconds. */
export interface ResolvedLockOptions {
  ttlMs: number;
  refreshIntervalMs: number;
  retryIntervalMs: number;
  /** The most random extra wait added to each retry interval. */
  retryJitterMs: number;
  retryLimit: number;
  waitMs: number;
  signal: AbortSignal | null;
}

/** The option function that sets one option: `optionSetter("ttl")` is `withTTL`. */
function optionSetter<K extends keyof LockOptions>(
  name: K,
): (value: NonNullable<LockOptions[K]>) => LockOption {
  return (value) => (options) => {
    options[name] = value;
  };
}

export const withTTL = optionSetter("ttl");
export const withRefreshInterval = optionSetter("refreshInterval");
export const withRetryInterval = optionSetter("retryInterval");
export const withRetryJitter = optionSetter("retryJitter");
export const withRetryLimit = optionSetter("retryLimit");
export const withWait = optionSetter("wait");
export const withSignal = optionSetter("signal");

/** Merges option objects and option functions, later ones winning. */
export function mergeLockOptions(parts: ReadonlyArray<LockOptions | LockOption>): LockOptions {
  const merged: LockOptions = {};
  for (const [index, part] of parts.entries()) {
    if (typeof part === "function") part(merged);
    else if (typeof part === "object" && part !== null) Object.assign(merged, part);
    else
      throw new InvalidArgumentError(
        `options[${index}]`,
        "must be an object or an option function",
      );
  }
  return merged;
}

export interface ValidityParameters {
  driftFactor: number;
  marginMs: number;
}

/**
 * Fills defaults and validates. Throws InvalidArgumentError naming the option. `validity` is the
 * locker's drift and margin: the ttl must leave a positive validity after them, and an
 * auto-refresh must come before the validity ends.
 */
export function resolveLockOptions(
  options: LockOptions,
  validity: ValidityParameters,
): ResolvedLockOptions {
  const ttlMs = options.ttl === undefined ? DEFAULT_TTL_MS : parseDuration(options.ttl, "ttl");
  if (ttlMs <= 0) throw new InvalidArgumentError("ttl", "must be positive");
  const validMs = ttlMs * (1 - validity.driftFactor) - validity.marginMs;
  if (validMs <= 0) {
    throw new InvalidArgumentError(
      "ttl",
      `${ttlMs} ms leaves no validity after drift (${validity.driftFactor}) and margin (${validity.marginMs} ms)`,
    );
  }
  const refreshIntervalMs =
    options.refreshInterval === undefined
      ? Math.max(1, Math.floor(ttlMs * DEFAULT_REFRESH_FRACTION))
      : parseDuration(options.refreshInterval, "refreshInterval");
  if (refreshIntervalMs >= validMs) {
    throw new InvalidArgumentError(
      "refreshInterval",
      `must be shorter than the ttl's validity (${Math.floor(validMs)} ms), or 0 for no auto-refresh`,
    );
  }
  const retryIntervalMs =
    options.retryInterval === undefined
      ? DEFAULT_RETRY_INTERVAL_MS
      : parseDuration(options.retryInterval, "retryInterval");
  const retryJitterMs =
    options.retryJitter === undefined
      ? Math.floor(retryIntervalMs * DEFAULT_RETRY_JITTER_FRACTION)
      : parseDuration(options.retryJitter, "retryJitter");
  const retryLimit = options.retryLimit ?? DEFAULT_RETRY_LIMIT;
  if (!Number.isInteger(retryLimit) || retryLimit < 0 || retryLimit > RETRY_LIMIT_MAX) {
    throw new InvalidArgumentError(
      "retryLimit",
      `must be a whole number between 0 and ${RETRY_LIMIT_MAX}`,
    );
  }
  const waitMs = options.wait === undefined ? DEFAULT_WAIT_MS : parseDuration(options.wait, "wait");
  const signal = options.signal ?? null;
  if (signal !== null && !(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError("signal", "must be an AbortSignal");
  }
  return { ttlMs, refreshIntervalMs, retryIntervalMs, retryJitterMs, retryLimit, waitMs, signal };
}

const NANOSECONDS_PER_MS = 1_000_000;

function jsonDuration(value: unknown, field: string): Duration {
  if (typeof value === "number") {
    // Go encodes time.Duration as integer nanoseconds.
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidArgumentError(field, "must be whole nanoseconds or a duration string");
    }
    const ms = Math.ceil(value / NANOSECONDS_PER_MS);
    if (ms > DURATION_MS_MAX) throw new InvalidArgumentError(field, "is too long");
    return ms;
  }
  if (typeof value === "string") return parseDuration(value, field);
  throw new InvalidArgumentError(field, "must be whole nanoseconds or a duration string");
}

const JSON_FIELDS = new Set(["ttl", "refresh_interval", "retry_interval", "retry_limit", "wait"]);

/**
 * Reads a `LockConfig` written for the original Go library: `ttl`, `refresh_interval`,
 * `retry_interval`, `retry_limit` (and `wait`, an extension). A duration is either a Go duration
 * string ("30s", "1m30s") or a number of NANOSECONDS, which is how Go's encoding/json writes a
 * time.Duration. Absent fields keep their defaults; unknown fields are refused (a typo should not
 * silently fall back to a default).
 */
export function lockConfigFromJSON(json: unknown): LockOptions {
  const object: unknown = typeof json === "string" ? parseJson(json) : json;
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    throw new InvalidArgumentError("config", "must be a JSON object");
  }
  const record = object as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!JSON_FIELDS.has(key)) {
      throw new InvalidArgumentError(key, "is not a LockConfig field");
    }
  }
  const options: LockOptions = {};
  if (record.ttl !== undefined) options.ttl = jsonDuration(record.ttl, "ttl");
  if (record.refresh_interval !== undefined) {
    options.refreshInterval = jsonDuration(record.refresh_interval, "refresh_interval");
  }
  if (record.retry_interval !== undefined) {
    options.retryInterval = jsonDuration(record.retry_interval, "retry_interval");
  }
  if (record.retry_limit !== undefined) {
    if (typeof record.retry_limit !== "number") {
      throw new InvalidArgumentError("retry_limit", "must be a number");
    }
    options.retryLimit = record.retry_limit;
  }
  if (record.wait !== undefined) options.wait = jsonDuration(record.wait, "wait");
  return options;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidArgumentError("config", `is not valid JSON (${(error as Error).message})`);
  }
}
