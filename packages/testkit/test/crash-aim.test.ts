import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CRASH_AIM_PERMILLE, planArbitrary } from "../src/plan-arbitrary.js";
import type { SchedulePlan } from "../src/plan.js";
import { validatePlan } from "../src/plan.js";
import { runSchedule } from "../src/run-schedule.js";
import { SimDisk } from "../src/sim-host-storage.js";
import type { SimDiskTiming } from "../src/sim-host-storage.js";
import { COMPLIANCE_MEMBERS, entries } from "../../server/test/storage/storage-compliance.js";

// Aimed crashes (SchedulePlan.crashAimPermille) wait for two unsynced batches, so that torn
// writes are reached on purpose: the host writes few batches per commit, and a crash at a
// random moment rarely finds two to tear between.

/** Real timers stand in for the node's: these tests check the disk, not the schedule. */
const TIMING: SimDiskTiming = {
  after: (callback, delayMs) => setTimeout(callback, delayMs),
  fsyncDelayMs: () => 1,
};

describe("SimDisk.whenUnsynced", () => {
  it("calls back once, at the write that leaves that many batches unsynced", async () => {
    const disk = new SimDisk(COMPLIANCE_MEMBERS);
    const storage = disk.open(TIMING);
    const seen: number[] = [];
    disk.whenUnsynced(2, () => seen.push(disk.unsyncedWrites));
    await storage.write([{ entries: entries(1, 2, 1) }]);
    expect(seen).toEqual([]);
    await storage.write([{ entries: entries(3, 4, 1) }]);
    expect(seen).toEqual([2]);
    await storage.write([{ entries: entries(5, 6, 1) }]);
    expect(seen).toEqual([2]);
  });

  it("calls nothing once cancelled, and not for batches an fsync covered", async () => {
    const disk = new SimDisk(COMPLIANCE_MEMBERS);
    const storage = disk.open(TIMING);
    let calls = 0;
    const cancel = disk.whenUnsynced(2, () => calls++);
    await storage.write([{ entries: entries(1, 2, 1), mustSync: true }]);
    await storage.write([{ entries: entries(3, 4, 1), mustSync: true }]);
    expect(calls).toBe(0);
    await storage.write([{ entries: entries(5, 6, 1) }]);
    cancel();
    await storage.write([{ entries: entries(7, 8, 1) }]);
    expect(disk.unsyncedWrites).toBe(2);
    expect(calls).toBe(0);
  });
});

describe("aimed crashes", () => {
  const plans = fc.sample(planArbitrary({ nodeCounts: [3] }), { seed: 20261205, numRuns: 100 });
  const withAim = (plan: SchedulePlan, permille: number | undefined): SchedulePlan => {
    const { crashAimPermille: _generated, ...rest } = plan;
    return permille === undefined ? rest : { ...rest, crashAimPermille: permille };
  };

  it("generated plans aim some crashes; a plan without the field aims none", () => {
    for (const plan of plans) expect(plan.crashAimPermille).toBe(DEFAULT_CRASH_AIM_PERMILLE);
    // Plans saved before the field still read, and a bad value is refused.
    expect(validatePlan(withAim(plans[0]!, undefined)).crashAimPermille).toBeUndefined();
    expect(() => validatePlan(withAim(plans[0]!, 1001))).toThrow(/crashAimPermille/);
  });

  it("replays a plan without the field exactly as one that aims no crash", async () => {
    const plan = plans.find((candidate) => candidate.faults.some((f) => f.kind === "crash"))!;
    const absent = await runSchedule(withAim(plan, undefined));
    const none = await runSchedule(withAim(plan, 0));
    expect(none.traceHash).toBe(absent.traceHash);
    expect(none.events).toBe(absent.events);
  });

  it("tear unsynced writes far more often than crashes at the step's moment", async () => {
    const sums = { aimed: { torn: 0, crashes: 0 }, unaimed: { torn: 0, crashes: 0 } };
    for (const plan of plans) {
      for (const [key, permille] of [
        ["aimed", 1000],
        ["unaimed", 0],
      ] as const) {
        const result = await runSchedule(withAim(plan, permille));
        expect(result.violation?.message ?? null).toBeNull();
        sums[key].torn += result.tornWrites;
        sums[key].crashes += result.crashes;
      }
    }
    console.log(`aimed crashes: ${JSON.stringify(sums)} over ${plans.length} schedules`);
    // Aimed crashes still happen (a wait is bounded) and tear at least twice as often.
    expect(sums.aimed.crashes).toBeGreaterThan(sums.unaimed.crashes / 2);
    expect(sums.aimed.torn).toBeGreaterThan(2 * sums.unaimed.torn);
    expect(sums.aimed.torn).toBeGreaterThan(plans.length / 10);
  }, 300_000);
});
