import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import type { LockSchedulePlan } from "../../src/lock/lock-plan.js";
import { hasSemaphoreOps, permitsOfKey, validateLockPlan } from "../../src/lock/lock-plan.js";
import { PlanError } from "../../src/plan.js";

const SEED = 23;

function samplePlans(): LockSchedulePlan[] {
  return fc.sample(lockPlanArbitrary(), { seed: SEED, numRuns: 200 });
}

/** A generated plan with semaphore clients (the sample holds many). */
function planWithSemaphores(): LockSchedulePlan {
  const plan = samplePlans().find(hasSemaphoreOps);
  if (plan === undefined) throw new Error(`no semaphore plan in the sample (seed ${SEED})`);
  return structuredClone(plan);
}

describe("lock plans with a semaphore key", () => {
  it("are generated with one semaphore key after the lock keys, used by its own clients", () => {
    const plans = samplePlans();
    const withSemaphores = plans.filter(hasSemaphoreOps);
    console.log(`seed ${SEED}: ${withSemaphores.length} of ${plans.length} plans take permits`);
    expect(withSemaphores.length).toBeGreaterThan(plans.length / 2);
    expect(withSemaphores.length).toBeLessThan(plans.length);
    for (const plan of withSemaphores) {
      const semaphoreKey = plan.keys - 1;
      const permits = permitsOfKey(plan, semaphoreKey);
      expect(permits).toBeGreaterThanOrEqual(1);
      for (let key = 0; key < semaphoreKey; key++) expect(permitsOfKey(plan, key)).toBe(0);
      const firstSemaphoreClient = plan.clients.length - plan.semaphoreClients!;
      for (const [i, client] of plan.clients.entries()) {
        for (const op of client.ops) {
          expect(op.key === semaphoreKey).toBe(i >= firstSemaphoreClient);
          if (op.kind === "semaphore") {
            expect(op.count).toBeGreaterThanOrEqual(1);
            expect(op.count).toBeLessThanOrEqual(permits);
          }
        }
      }
      expect(validateLockPlan(structuredClone(plan))).toEqual(plan);
    }
  });

  it("are refused when an op does not fit its key", () => {
    const plan = planWithSemaphores();
    const semaphoreKey = plan.keys - 1;
    const permits = permitsOfKey(plan, semaphoreKey);
    const client = plan.clients[plan.clients.length - 1];
    const withOp = (op: object): unknown => {
      const changed = structuredClone(plan);
      changed.clients[changed.clients.length - 1].ops = [
        op as LockSchedulePlan["clients"][0]["ops"][0],
      ];
      return changed;
    };
    const semaphoreOp = {
      kind: "semaphore",
      gapMs: 0,
      key: semaphoreKey,
      count: 1,
      ttlMs: 500,
      waitMs: 0,
      retryLimit: 0,
      retryIntervalMs: 10,
      retryJitterMs: 2,
      refresh: "auto",
      holdMs: 10,
      end: "release",
    };
    expect(client.ops.length).toBeGreaterThan(0);
    expect(() => validateLockPlan(withOp(semaphoreOp))).not.toThrow();
    expect(() => validateLockPlan(withOp({ ...semaphoreOp, count: permits + 1 }))).toThrow(
      PlanError,
    );
    expect(() => validateLockPlan(withOp({ ...semaphoreOp, count: 0 }))).toThrow(PlanError);
    expect(() => validateLockPlan(withOp({ ...semaphoreOp, key: 0 }))).toThrow(PlanError);
    const lockOp = { kind: "acquire", gapMs: 0, key: semaphoreKey, ttlMs: 500, holdMs: 10 };
    expect(() => validateLockPlan(withOp(lockOp))).toThrow(/semaphore key as a lock/);
    expect(() =>
      validateLockPlan({ ...structuredClone(plan), semaphorePermits: [permits] }),
    ).toThrow(/semaphorePermits/);
    expect(() =>
      validateLockPlan({ ...structuredClone(plan), semaphoreClients: plan.clients.length + 1 }),
    ).toThrow(/semaphoreClients/);
  });
});
