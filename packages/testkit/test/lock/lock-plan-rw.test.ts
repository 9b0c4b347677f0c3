import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import type { ClientOp } from "../../src/lock/lock-plan.js";
import { hasRwOps, permitsOfKey, validateLockPlan, lockPartOf } from "../../src/lock/lock-plan.js";
import { PlanError } from "../../src/plan.js";

describe("lock plans with a reader-writer key", () => {
  const plans = fc.sample(lockPlanArbitrary(), { seed: 29, numRuns: 200 });
  const withRw = plans.filter(hasRwOps);

  it("are generated in most schedules, the rw key used only by its own clients", () => {
    console.log(`seed 29: ${withRw.length} of ${plans.length} plans take the rw key`);
    expect(withRw.length).toBeGreaterThan(plans.length / 2);
    for (const plan of withRw) {
      const rwKey = plan.rwKey!;
      expect(permitsOfKey(plan, rwKey)).toBe(0);
      // The rw clients come right after the lock clients; semaphore and election clients follow.
      const first =
        plan.clients.length -
        (plan.electionClients ?? 0) -
        (plan.semaphoreClients ?? 0) -
        plan.rwClients!;
      for (const [i, client] of plan.clients.entries()) {
        const isRwClient = i >= first && i < first + plan.rwClients!;
        for (const op of client.ops) expect(op.key === rwKey).toBe(isRwClient);
      }
      expect(validateLockPlan(structuredClone(plan))).toEqual(plan);
      // The lock part alone has neither the rw key nor its clients.
      const lockPart = lockPartOf(plan);
      expect(lockPart.rwKey).toBeUndefined();
      expect(lockPart.keys).toBe(rwKey);
      expect(hasRwOps(lockPart)).toBe(false);
    }
  });

  it("are refused when an rw op names a lock key, or a lock op the rw key", () => {
    const plan = structuredClone(withRw[0]!);
    const rwOp = plan.clients.flatMap((c) => c.ops).find((op) => op.kind === "rw")!;
    const withOp = (op: ClientOp): unknown => {
      const changed = structuredClone(plan);
      changed.clients[0]!.ops = [op];
      return changed;
    };
    expect(() => validateLockPlan(withOp(rwOp))).not.toThrow();
    expect(() => validateLockPlan(withOp({ ...rwOp, key: 0 }))).toThrow(PlanError);
    const lockOp: ClientOp = {
      kind: "acquire",
      gapMs: 0,
      key: plan.rwKey!,
      ttlMs: 500,
      holdMs: 10,
      writeEveryMs: 10,
      end: "release",
      renewOffsetMs: 0,
      zombieWrite: false,
    };
    expect(() => validateLockPlan(withOp(lockOp))).toThrow(PlanError);
    const badMode = { ...rwOp, mode: "upgrade" } as unknown as ClientOp;
    expect(() => validateLockPlan(withOp(badMode))).toThrow(PlanError);
  });
});
