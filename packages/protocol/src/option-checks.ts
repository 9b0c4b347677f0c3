// The checks every options resolver (server, peer transport, client port, admin port, client)
// applies to its options: (value, default, option name). Each throws ConfigError naming the
// option and the range it needs; the default stands in for an undefined value.
import { ConfigError } from "./config-error.js";
import { DURATION_MS_MAX } from "./limits.js";

/** A whole number in [min, max]. */
export function integerOption(
  value: unknown,
  fallback: number | undefined,
  option: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== "number" || !Number.isSafeInteger(resolved)) {
    throw new ConfigError(
      option,
      `must be a whole number in [${min}, ${max}], got ${String(resolved)}`,
    );
  }
  if (resolved < min || resolved > max) {
    throw new ConfigError(option, `${resolved} is out of range [${min}, ${max}]`);
  }
  return resolved;
}

/** A whole number ≥ 1: a count, a size in bytes, a rate. */
export function positiveInteger(
  value: unknown,
  fallback: number | undefined,
  option: string,
): number {
  return integerOption(value, fallback, option, 1);
}

/** Whole milliseconds in [min, DURATION_MS_MAX] (longer overflows Node's timers: fires at once). */
export function durationMsOption(
  value: unknown,
  fallback: number | undefined,
  option: string,
  min = 1,
): number {
  return integerOption(value, fallback, option, min, DURATION_MS_MAX);
}

/** A string of at least one character (a name, an id). */
export function nonEmptyStringOption(value: unknown, option: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ConfigError(option, "must be a non-empty string");
  }
  return value;
}

/** A node's identity in a cluster, as every server-side component is told it. */
export interface NodeIdentity {
  nodeId: string;
  clusterId: string;
}

/** `nodeId` and `clusterId`, each a non-empty string. */
export function nodeIdentityOptions(options: Partial<NodeIdentity>): NodeIdentity {
  return {
    nodeId: nonEmptyStringOption(options.nodeId, "nodeId"),
    clusterId: nonEmptyStringOption(options.clusterId, "clusterId"),
  };
}
