import fc from "fast-check";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import type { LockSchedulePlan } from "../../src/lock/lock-plan.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";

// A search runs thousands of schedules in one process: a finished run must leave nothing
// reachable. A crashed client's calls never settle, and Node holds a combined AbortSignal (the
// Locker's, AbortSignal.any) while a listener is on it; before the run closed every Locker it
// made, each such call kept its whole schedule alive and a 3-minute search slowed by a third.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Lets the microtasks and immediates of the closed clients run out. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs the plans (in a frame of its own, gone when it returns); weak references to each run. */
async function runAll(plans: LockSchedulePlan[]): Promise<{
  histories: WeakRef<object>[];
  clientCrashes: number;
}> {
  const histories: WeakRef<object>[] = [];
  let clientCrashes = 0;
  for (const plan of plans) {
    const result = await runLockSchedule(plan);
    clientCrashes += result.clientFaults.clientCrash;
    // The history is the run's: its clock reads the run's world.
    histories.push(new WeakRef(result.history));
  }
  return { histories, clientCrashes };
}

describe("lock run memory", () => {
  it("frees a finished run, crashed clients' calls in flight included", async () => {
    const plans = fc.sample(lockPlanArbitrary({}), { seed: 11, numRuns: 6 });
    const { histories, clientCrashes } = await runAll(plans);
    expect(clientCrashes).toBeGreaterThan(0);
    // The closed clients' last turns (the world's drain loop yields to real immediates) may still
    // be queued behind other test files on a loaded machine: collect until none is left or a
    // deadline passes. A run that stays reachable stays so for ever and fails here.
    const alive = (): number => histories.filter((history) => history.deref() !== undefined).length;
    const deadline = Date.now() + 20_000;
    do {
      await settle();
      collectGarbage();
    } while (alive() > 0 && Date.now() < deadline);
    expect(alive()).toBe(0);
  });
});
