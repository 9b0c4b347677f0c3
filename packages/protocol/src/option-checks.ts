// The checks every options resolver (server, peer transport, client port, admin port, client)
// applies to numeric options: (value, default, option name). Each throws ConfigError naming the
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
