import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";

// A lock run is a pure function of its plan: the same plan gives the same trace (every event in
// the same order, at the same virtual time), the same history and the same counts, although real
// promise-based client and server code runs inside it.
describe("lock simulator determinism", () => {
  it("replays a plan exactly, for every lock profile", async () => {
    for (const lockProfile of ["default", "contention", "races", "stale"] as const) {
      const plans = fc.sample(lockPlanArbitrary({ lockProfile }), { seed: 11, numRuns: 3 });
      for (const plan of plans) {
        const first = await runLockSchedule(plan);
        const second = await runLockSchedule(structuredClone(plan));
        expect(second.traceHash).toBe(first.traceHash);
        expect(second.events).toBe(first.events);
        expect(second.requests).toBe(first.requests);
        expect(second.history.beliefs).toEqual(first.history.beliefs);
        expect(second.lockEvents).toEqual(first.lockEvents);
        expect(first.events).toBeGreaterThan(100);
      }
    }
  });
});
