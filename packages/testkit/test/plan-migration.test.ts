import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../src/lock/lock-plan-arbitrary.js";
import { LOCK_PLAN_FIELD_RENAMES, validateLockPlan } from "../src/lock/lock-plan.js";
import { planArbitrary } from "../src/plan-arbitrary.js";
import { PLAN_FIELD_RENAMES, PlanError, validatePlan } from "../src/plan.js";

/** The plan as an older release saved it: every renamed field under its old name. */
function withOldNames(plan: object, renames: Readonly<Record<string, string>>) {
  const old: Record<string, unknown> = { ...plan };
  for (const [oldName, current] of Object.entries(renames)) {
    expect(old).toHaveProperty(current);
    old[oldName] = old[current];
    delete old[current];
  }
  return old;
}

describe("saved plans with the field names of the previous release", () => {
  it("read as the same Raft plan", () => {
    const [plan] = fc.sample(planArbitrary({ profile: "slowDisk" }), { seed: 3, numRuns: 1 });
    const saved = JSON.parse(JSON.stringify(withOldNames(plan, PLAN_FIELD_RENAMES))) as object;
    expect(saved).toHaveProperty("maxDelayMs", plan.delayMsMax);
    expect(validatePlan(saved)).toEqual(plan);
  });

  it("read as the same lock plan, its Raft part too", () => {
    const [plan] = fc.sample(lockPlanArbitrary({ lockProfile: "contention" }), {
      seed: 3,
      numRuns: 1,
    });
    const saved = JSON.parse(
      JSON.stringify({
        ...withOldNames(plan, LOCK_PLAN_FIELD_RENAMES),
        raft: withOldNames(plan.raft, PLAN_FIELD_RENAMES),
      }),
    ) as object;
    expect(saved).toHaveProperty("resourceMaxDelayMs", plan.resourceDelayMsMax);
    expect(validateLockPlan(saved)).toEqual(plan);
  });

  it("still check the renamed fields' values", () => {
    const [plan] = fc.sample(planArbitrary(), { seed: 4, numRuns: 1 });
    const saved = { ...withOldNames(plan, PLAN_FIELD_RENAMES), fsyncMaxMs: -1 };
    expect(() => validatePlan(saved)).toThrow(PlanError);
    expect(() => validatePlan(saved)).toThrow(/plan.fsyncMsMax must be a finite number ≥ 0/);
  });
});
