import { describe, expect, it } from "vitest";
import type { CheckSchedulesOptions, SimSummary } from "../src/sim-check.js";
import { checkSchedules, formatFailure } from "../src/sim-check.js";

/** Generous: a share takes well under a minute on an idle 2-core machine, far longer when loaded. */
export const SHARE_TIMEOUT_MS = 600_000;

/**
 * Base seed of the generated-schedule tests: SIM_SEED when set (to replay a CI run), otherwise a
 * new one per run so CI keeps exploring. A replay needs this base, not a seed derived from it.
 */
export function scheduleBaseSeed(): number {
  const fromEnv = process.env.SIM_SEED;
  return fromEnv !== undefined ? Number(fromEnv) : Date.now() & 0x3fffffff;
}

/** One test's seed, derived from the base (printed either way). */
export function scheduleSeed(offset: number, base = scheduleBaseSeed()): number {
  return (base + offset * 7919) & 0x7fffffff;
}

/** Runs schedules and fails with the violation and its one-line replay command. */
export async function expectNoViolation(
  options: CheckSchedulesOptions,
  label: string,
): Promise<SimSummary> {
  const result = await checkSchedules(options);
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

/**
 * One share of the ≥ 2,000 generated fault schedules `pnpm test` runs. The shares live in
 * separate files so vitest spreads them over the cores; this is the one body they all run.
 */
export function describeScheduleShare(nodeCount: 3 | 5, part: number, schedules: number): void {
  const label = `${nodeCount} nodes, part ${part}`;
  describe(`generated fault schedules, ${label.replace(", part", " (part")})`, () => {
    it(
      "finds no violation of any Raft property and recovers after faults stop",
      async () => {
        const summary = await expectNoViolation(
          {
            numRuns: schedules,
            seed: scheduleSeed(nodeCount * 10 + part),
            nodeCounts: [nodeCount],
          },
          label,
        );
        expect(summary.schedules).toBe(schedules);
        expect(summary.byNodeCount[nodeCount]).toBe(schedules);
        // The schedules must actually exercise the hard cases, or zero violations means nothing.
        expect(summary.faults.crash).toBeGreaterThan(schedules / 2);
        expect(summary.faults.partition).toBeGreaterThan(schedules / 2);
        expect(summary.faults.pause).toBeGreaterThan(schedules / 10);
        expect(summary.faults.membership).toBeGreaterThan(schedules / 10);
        expect(summary.faults.transfer).toBeGreaterThan(schedules / 20);
        expect(summary.snapshotsInstalled).toBeGreaterThan(schedules / 10);
        expect(summary.elections).toBeGreaterThan(schedules);
        expect(summary.entriesCommitted).toBeGreaterThan(schedules * 20);
        expect(summary.readsServed).toBeGreaterThan(schedules);
        expect(summary.crashesLosingWrites).toBeGreaterThan(schedules / 10);
        // Aimed crashes tear in about a fifth of the schedules (a tenth before they were aimed,
        // with a bar of 1 in 50): the bar keeps the same margin against a fivefold drop.
        expect(summary.tornWrites).toBeGreaterThan(schedules / 20);
      },
      SHARE_TIMEOUT_MS,
    );
  });
}
