import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planArbitrary } from "../src/plan-arbitrary.js";
import { runSchedule } from "../src/run-schedule.js";

describe("determinism", () => {
  const plans = fc.sample(planArbitrary({ faultsMax: 10 }), { seed: 20261126, numRuns: 6 });

  it("gives the same trace hash, commits and stats when a plan runs twice", async () => {
    for (const plan of plans) {
      const first = await runSchedule(plan);
      const second = await runSchedule(plan);
      expect(first.violation).toBeNull();
      expect(second.traceHash).toBe(first.traceHash);
      expect(second.events).toBe(first.events);
      expect(second.committedIndex).toBe(first.committedIndex);
      expect(second.network).toEqual(first.network);
    }
  });

  it("gives a different trace for a different seed", async () => {
    const plan = plans[0];
    const hashes = new Set<number>();
    for (const seed of [1, 2, 3]) hashes.add((await runSchedule({ ...plan, seed })).traceHash);
    expect(hashes.size).toBe(3);
  });

  it("generates the same plans from the same fast-check seed (replay by seed and path)", () => {
    const again = fc.sample(planArbitrary({ faultsMax: 10 }), { seed: 20261126, numRuns: 6 });
    expect(again).toEqual(plans);
  });
});
