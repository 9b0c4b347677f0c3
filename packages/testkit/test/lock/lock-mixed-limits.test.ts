import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import type { NodeLimitFlags } from "../../src/lock/lock-plan.js";
import { hasRwOps, validateLockPlan } from "../../src/lock/lock-plan.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";
import { scheduleBaseSeed, scheduleSeed } from "../schedule-helpers.js";

// Members started with different limit flags: the table limits in force come through the log,
// so every member applies every entry to the same result (the run checks each apply against the
// first), and an rw key's slot count is the same everywhere (no writer beside a reader).
const NODE_LIMITS: Record<string, NodeLimitFlags> = {
  n1: { semaphorePermitsMax: 2, waitersPerKeyMax: 2 },
  n2: { semaphorePermitsMax: 64, waitersPerKeyMax: 64 },
  n3: { semaphorePermitsMax: 3, locksMax: 10_000 },
  n5: { waitersPerKeyMax: 3 },
};

describe("lock schedules on members with different limit flags", () => {
  it("apply alike, keep rw exclusion and survive leader changes", async () => {
    const baseSeed = scheduleBaseSeed();
    const seed = scheduleSeed(4242, baseSeed);
    const replay = `replay with SIM_SEED=${baseSeed}`;
    console.log(`mixed-limits seed ${seed} (${replay})`);
    const plans = fc
      .sample(lockPlanArbitrary(), { seed, numRuns: 40 })
      .filter(hasRwOps)
      .slice(0, 6);
    expect(plans.length).toBeGreaterThan(0);
    let elections = 0;
    let rwBeliefs = 0;
    for (const [i, generated] of plans.entries()) {
      const plan = validateLockPlan({ ...structuredClone(generated), nodeLimits: NODE_LIMITS });
      const result = await runLockSchedule(plan);
      const where = `seed ${seed} (${replay}), plan ${i}`;
      expect(result.violation, `${where}: ${String(result.violation)}`).toBeNull();
      elections += result.elections;
      rwBeliefs += result.rwBeliefs;
    }
    // More elections than runs: leadership moved between members with different flags.
    expect(elections).toBeGreaterThan(plans.length);
    expect(rwBeliefs).toBeGreaterThan(0);
  }, 600_000);
});
