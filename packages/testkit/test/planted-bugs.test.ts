import type { PlantedBugs } from "@dlock/raft/internal";
import { describe, expect, it } from "vitest";
import type { PlanProfile } from "../src/plan-arbitrary.js";
import { runSchedule } from "../src/run-schedule.js";
import { checkSchedules } from "../src/sim-check.js";
import { SHARE_TIMEOUT_MS } from "./schedule-helpers.js";

// The checkers are not vacuous: with each planted bug switched on, the simulator finds a
// violation within its budget, and the very same schedule without the bug passes (so the
// violation is the bug's doing, not the simulator's). Seeds are fixed: each test is a fixed search.

const SAFETY = ["electionSafety", "logMatching", "leaderCompleteness", "stateMachineSafety"];

async function expectFound(
  bug: keyof PlantedBugs,
  profile: PlanProfile,
  budget: number,
  seed: number,
  properties: string[],
): Promise<void> {
  const plantedBugs: PlantedBugs = { [bug]: true };
  const result = await checkSchedules({
    numRuns: budget,
    seed,
    profile,
    plantedBugs,
    shrink: false,
  });
  console.log(
    `${bug}: ${result.failure ? `found after ${result.summary.schedules} schedules` : "NOT found"}` +
      (result.failure
        ? ` — ${result.failure.violation}\n  replay: ${result.failure.replayCommand}`
        : ""),
  );
  expect(result.failure, `no violation within ${budget} schedules (seed ${seed})`).not.toBeNull();
  expect(properties).toContain(result.failure!.property);
  const { plantedBugs: _bug, ...withoutBug } = result.failure!.plan;
  expect((await runSchedule(withoutBug)).violation).toBeNull();
}

describe("planted bugs are found", () => {
  it(
    "acknowledgeBeforePersist: a commit not durable on a majority",
    async () => {
      await expectFound("acknowledgeBeforePersist", "slowDisk", 200, 1, [
        "commitDurability",
        ...SAFETY,
      ]);
    },
    SHARE_TIMEOUT_MS,
  );

  it(
    "voteWithoutLogCheck: a leader elected without committed entries",
    async () => {
      await expectFound("voteWithoutLogCheck", "staleVoter", 300, 1, [
        ...SAFETY,
        "commitDurability",
      ]);
    },
    SHARE_TIMEOUT_MS,
  );

  // Figure 8 needs three leaders in a row, each cut off just after its election while its newest
  // entries are on few disks: the figure8 profile isolates or crashes election winners within a
  // few round trips. figure8.test.ts also drives that interleaving step by step.
  it(
    "commitPreviousTermByCounting: an entry committed by counting is overwritten",
    async () => {
      await expectFound("commitPreviousTermByCounting", "figure8", 500, 1, SAFETY);
    },
    SHARE_TIMEOUT_MS,
  );

  it(
    "shrinks a failing schedule to a smaller one that still fails, with a replay command",
    async () => {
      const plantedBugs: PlantedBugs = { acknowledgeBeforePersist: true };
      const found = await checkSchedules({
        numRuns: 200,
        seed: 3,
        profile: "slowDisk",
        plantedBugs,
      });
      const unshrunk = await checkSchedules({
        numRuns: 200,
        seed: 3,
        profile: "slowDisk",
        plantedBugs,
        shrink: false,
      });
      expect(found.failure).not.toBeNull();
      expect(unshrunk.failure).not.toBeNull();
      expect(found.failure!.plan.faults.length).toBeLessThanOrEqual(
        unshrunk.failure!.plan.faults.length,
      );
      expect(found.failure!.replayCommand).toBe(
        `pnpm sim raft --seed=3 --path=${found.failure!.path} --profile=slowDisk --bug=acknowledgeBeforePersist`,
      );
      // Replaying (seed, path) gives the shrunk schedule again.
      const replay = await checkSchedules({
        numRuns: 1,
        seed: 3,
        path: found.failure!.path,
        profile: "slowDisk",
        plantedBugs,
      });
      expect(replay.failure?.plan).toEqual(found.failure!.plan);
    },
    SHARE_TIMEOUT_MS,
  );
});
