import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import type { LockSchedulePlan } from "../../src/lock/lock-plan.js";
import {
  hasCampaigns,
  hasRwOps,
  hasSemaphoreOps,
  isElectionKey,
  keyNameOf,
  lockPartOf,
  permitsOfKey,
  validateLockPlan,
} from "../../src/lock/lock-plan.js";
import { PlanError } from "../../src/plan.js";

const SEED = 23;

function samplePlans(): LockSchedulePlan[] {
  return fc.sample(lockPlanArbitrary(), { seed: SEED, numRuns: 200 });
}

/** A generated plan with semaphore clients and no election (the sample holds many). */
function planWithSemaphores(): LockSchedulePlan {
  const plan = samplePlans().find((sample) => hasSemaphoreOps(sample) && !hasCampaigns(sample));
  if (plan === undefined) throw new Error(`no semaphore plan in the sample (seed ${SEED})`);
  return structuredClone(plan);
}

/** A copy of `plan` whose last client does `op` only (validated as read from a file). */
function withLastClientDoing(plan: LockSchedulePlan, op: object): unknown {
  const changed = structuredClone(plan);
  changed.clients[changed.clients.length - 1].ops = [
    op as LockSchedulePlan["clients"][0]["ops"][0],
  ];
  return changed;
}

describe("lock plans with a semaphore key", () => {
  it("are generated with one semaphore key after the lock keys, used by its own clients", () => {
    const plans = samplePlans();
    const withSemaphores = plans.filter(hasSemaphoreOps);
    console.log(`seed ${SEED}: ${withSemaphores.length} of ${plans.length} plans take permits`);
    expect(withSemaphores.length).toBeGreaterThan(plans.length / 2);
    expect(withSemaphores.length).toBeLessThan(plans.length);
    for (const plan of withSemaphores) {
      // The election key, when there is one, comes after it, and its clients after its clients.
      const semaphoreKey = plan.keys - 1 - (plan.electionKey === undefined ? 0 : 1);
      const permits = permitsOfKey(plan, semaphoreKey);
      expect(permits).toBeGreaterThanOrEqual(1);
      for (let key = 0; key < plan.keys; key++) {
        if (key !== semaphoreKey) expect(permitsOfKey(plan, key)).toBe(0);
      }
      const semaphoreClientsEnd = plan.clients.length - (plan.electionClients ?? 0);
      const firstSemaphoreClient = semaphoreClientsEnd - plan.semaphoreClients!;
      for (const [i, client] of plan.clients.entries()) {
        for (const op of client.ops) {
          const semaphoreClient = i >= firstSemaphoreClient && i < semaphoreClientsEnd;
          expect(op.key === semaphoreKey).toBe(semaphoreClient);
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
    const withOp = (op: object): unknown => withLastClientDoing(plan, op);
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

describe("lock plans with an election", () => {
  it("are generated in most plans, with campaigners and an observer on an election key of their own", () => {
    const plans = samplePlans();
    const withElections = plans.filter(hasCampaigns);
    console.log(`seed ${SEED}: ${withElections.length} of ${plans.length} plans hold an election`);
    expect(withElections.length).toBeGreaterThan(plans.length / 2);
    expect(withElections.length).toBeLessThan(plans.length);
    expect(
      plans.filter((plan) => hasCampaigns(plan) && hasSemaphoreOps(plan)).length,
    ).toBeGreaterThan(0);
    for (const plan of withElections) {
      const electionKey = plan.electionKey!;
      expect(electionKey).toBe(plan.keys - 1);
      expect(keyNameOf(plan, electionKey)).toBe(`election/key-${electionKey}`);
      expect(permitsOfKey(plan, electionKey)).toBe(0);
      const firstElectionClient = plan.clients.length - plan.electionClients!;
      const electionClients = plan.clients.slice(firstElectionClient);
      expect(electionClients.length).toBeGreaterThanOrEqual(3);
      for (const [i, client] of plan.clients.entries()) {
        for (const op of client.ops) {
          const electionOp = op.kind === "campaign" || op.kind === "observe";
          expect(electionOp).toBe(i >= firstElectionClient);
          expect(isElectionKey(plan, op.key)).toBe(electionOp);
        }
      }
      // The last election client only observes.
      expect(electionClients.at(-1)!.ops.every((op) => op.kind === "observe")).toBe(true);
      expect(validateLockPlan(structuredClone(plan))).toEqual(plan);
      // Its lock part has neither the election nor the semaphore nor the rw key.
      const lockPart = lockPartOf(plan);
      expect(lockPart.clients.length).toBe(
        firstElectionClient - (plan.semaphoreClients ?? 0) - (plan.rwClients ?? 0),
      );
      expect(lockPart.electionKey).toBeUndefined();
      expect(hasCampaigns(lockPart) || hasSemaphoreOps(lockPart) || hasRwOps(lockPart)).toBe(false);
    }
  });

  it("are refused when an election op names another key, or another op the election key", () => {
    const plan = structuredClone(samplePlans().find(hasCampaigns)!);
    const electionKey = plan.electionKey!;
    const withOp = (op: object): unknown => withLastClientDoing(plan, op);
    const campaign = {
      kind: "campaign",
      gapMs: 0,
      key: electionKey,
      ttlMs: 500,
      waitMs: 100,
      holdMs: 10,
    };
    expect(() => validateLockPlan(withOp(campaign))).not.toThrow();
    expect(() => validateLockPlan(withOp({ ...campaign, key: 0 }))).toThrow(/election key/);
    expect(() => validateLockPlan(withOp({ kind: "get", gapMs: 0, key: electionKey }))).toThrow(
      /election key/,
    );
    expect(() => validateLockPlan({ ...structuredClone(plan), electionKey: plan.keys })).toThrow(
      /electionKey/,
    );
  });
});
