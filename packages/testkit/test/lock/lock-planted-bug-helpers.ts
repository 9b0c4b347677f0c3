import { expect } from "vitest";
import type { PropertyName } from "../../src/checkers/violation.js";
import type { LockPlantedBugName } from "../../src/lock/lock-check.js";
import { checkLockSchedules, lockPlantedBugs } from "../../src/lock/lock-check.js";
import type { LockProfile } from "../../src/lock/lock-plan-arbitrary.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";
import type { PlanProfile } from "../../src/plan-arbitrary.js";

export interface PlantedBugCase {
  bug: LockPlantedBugName;
  lockProfile: LockProfile;
  profile?: PlanProfile;
  /** Schedules searched (a fixed seed: each test is one fixed, reproducible search). */
  budget: number;
  seed: number;
  /** The checkers allowed to be the one that catches it. */
  properties: PropertyName[];
}

/**
 * The checkers are not vacuous: with the bug switched on, the lock simulator finds a violation
 * within the budget, and the very same schedule without the bug passes (so the violation is the
 * bug's doing, not the simulator's).
 */
export async function expectLockBugFound(test: PlantedBugCase): Promise<void> {
  const result = await checkLockSchedules({
    numRuns: test.budget,
    seed: test.seed,
    lockProfile: test.lockProfile,
    profile: test.profile,
    plantedBugs: lockPlantedBugs([test.bug]),
    shrink: false,
  });
  const failure = result.failure;
  console.log(
    `${test.bug}: ` +
      (failure
        ? `found after ${result.summary.schedules} schedules — ${failure.violation.split("\n")[0]}` +
          `\n  replay: ${failure.replayCommand}`
        : `NOT found in ${test.budget} schedules`),
  );
  expect(
    failure,
    `no violation within ${test.budget} schedules (seed ${test.seed})`,
  ).not.toBeNull();
  expect(test.properties).toContain(failure!.property);
  const { plantedBugs: _bugs, ...withoutLockBugs } = failure!.plan;
  const { plantedBugs: _raftBugs, ...raft } = withoutLockBugs.raft;
  const clean = await runLockSchedule({ ...withoutLockBugs, raft });
  expect(clean.violation?.message ?? null).toBeNull();
}
