// Durations as users write them: milliseconds as a number, or Go-style strings ("500ms", "10s",
// "1m30s", "1.5h"), so configuration written for the original Go library keeps working.
import { InvalidArgumentError } from "./errors.js";
import { DURATION_MS_MAX } from "./limits.js";

/** A duration: whole milliseconds, or a string such as "500ms", "10s", "1m", "1h", "1m30s". */
export type Duration = number | string;

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Longest duration string parsed; longer input is refused before the regular expression runs. */
const DURATION_TEXT_MAX = 64;
const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Parses a duration into whole milliseconds. Numbers are milliseconds (whole, non-negative);
 * strings are sequences of `<number><unit>` with units ns, us, ms, s, m, h. Sub-millisecond
 * remainders round up, so a tiny non-zero duration never becomes 0 (which often means "off").
 * Throws InvalidArgumentError naming `field`.
 */
export function parseDuration(input: unknown, field = "duration"): number {
  if (typeof input === "number") {
    if (!Number.isFinite(input) || input < 0) {
      throw new InvalidArgumentError(field, "must be a non-negative number of milliseconds");
    }
    if (!Number.isInteger(input)) {
      throw new InvalidArgumentError(field, "must be a whole number of milliseconds");
    }
    if (input > DURATION_MS_MAX) {
      throw new InvalidArgumentError(field, `must be at most ${DURATION_MS_MAX} ms`);
    }
    return input;
  }
  if (typeof input !== "string") {
    throw new InvalidArgumentError(field, 'must be milliseconds or a string such as "10s"');
  }
  const text = input.trim();
  if (text.length === 0 || text.length > DURATION_TEXT_MAX) {
    throw new InvalidArgumentError(field, `"${input.slice(0, 80)}" is not a duration`);
  }
  if (text === "0") return 0;
  if (text.startsWith("-")) throw new InvalidArgumentError(field, "must not be negative");
  const body = text.startsWith("+") ? text.slice(1) : text;
  let totalMs = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < body.length) {
    const start = TERM.lastIndex;
    const match = TERM.exec(body);
    if (match === null || match.index !== start) {
      throw new InvalidArgumentError(
        field,
        `"${input}" is not a duration (use e.g. "500ms", "10s", "1m", "1h")`,
      );
    }
    totalMs += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  const ms = Math.ceil(totalMs - 1e-9);
  if (ms > DURATION_MS_MAX) {
    throw new InvalidArgumentError(field, `must be at most ${DURATION_MS_MAX} ms`);
  }
  return Math.max(ms, 0);
}

/** Formats milliseconds the short way ("1m30s", "250ms"), for messages and help texts. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000 || ms % 1000 !== 0) {
    return ms < 1000 ? `${ms}ms` : `${Math.floor(ms / 1000)}s${ms % 1000}ms`;
  }
  let seconds = ms / 1000;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  return `${hours ? `${hours}h` : ""}${minutes ? `${minutes}m` : ""}${seconds ? `${seconds}s` : ""}`;
}
