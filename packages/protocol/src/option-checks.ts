// The checks every options resolver (server, peer transport, client port, admin port, client)
// applies to numeric options. Each throws ConfigError naming the option and the range it needs.
import { ConfigError } from "./config-error.js";
import { DURATION_MS_MAX } from "./limits.js";

/** A whole number in [min, max]; `fallback` stands in for undefined. */
export function integerOption(
  value: unknown,
  option: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  fallback?: number,
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

/** A whole number ≥ 1 (a count, a size in bytes, a rate); `fallback` stands in for undefined. */
export function positiveInteger(value: unknown, option: string, fallback?: number): number {
  return integerOption(value, option, 1, Number.MAX_SAFE_INTEGER, fallback);
}

/**
 * A whole number of milliseconds in [min, DURATION_MS_MAX] (longer overflows Node's timers and
 * would fire at once); `fallback` stands in for undefined.
 */
export function durationMsOption(
  value: unknown,
  option: string,
  fallback?: number,
  min = 1,
): number {
  return integerOption(value, option, min, DURATION_MS_MAX, fallback);
}
