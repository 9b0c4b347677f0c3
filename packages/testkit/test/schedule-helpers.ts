import { expect } from "vitest";
import type { CheckSchedulesOptions, SimSummary } from "../src/sim-check.js";
import { checkSchedules, formatFailure } from "../src/sim-check.js";

/**
 * Seed of the generated-schedule tests: SIM_SEED when set (to replay a CI run), otherwise a new
 * one per run so CI keeps exploring. It is printed either way.
 */
export function scheduleSeed(offset: number): number {
  const fromEnv = process.env.SIM_SEED;
  const base = fromEnv !== undefined ? Number(fromEnv) : Date.now() & 0x3fffffff;
  return (base + offset * 7919) & 0x7fffffff;
}

/** Runs schedules and fails with the violation and its one-line replay command. */
export function expectNoViolation(options: CheckSchedulesOptions, label: string): SimSummary {
  const result = checkSchedules(options);
  const faults = Object.entries(result.summary.faults)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  console.log(
    `${label}: seed ${result.seed}, ${result.summary.schedules} schedules, faults: ${faults}, ` +
      `elections ${result.summary.elections}, entries committed ${result.summary.entriesCommitted}`,
  );
  if (result.failure) expect.fail(formatFailure(result.failure));
  return result.summary;
}
