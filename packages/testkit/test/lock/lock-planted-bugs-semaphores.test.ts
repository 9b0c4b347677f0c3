import { describe, expect, it } from "vitest";
import { checkLockSchedules, formatLockFailure } from "../../src/lock/lock-check.js";
import { expectLockBugFound } from "./lock-planted-bug-helpers.js";

// Planted bugs of the semaphore table (@dlock/server/lock), found by generated lock schedules.
describe("planted semaphore bugs are found", () => {
  it("semaphoreOvercommit: an acquire is granted without counting the permits held", async () => {
    await expectLockBugFound({
      bug: "semaphoreOvercommit",
      lockProfile: "default",
      budget: 20,
      seed: 1,
      properties: ["semaphoreCapacity"],
    });
  });

  it("without the bug, the same generated schedules pass, semaphore clients included", async () => {
    const result = await checkLockSchedules({ numRuns: 20, seed: 1, shrink: false });
    if (result.failure) expect.fail(formatLockFailure(result.failure));
    expect(result.summary.schedules).toBe(20);
    expect(result.summary.semaphoreSchedules).toBeGreaterThan(0);
    expect(result.summary.clients.permitGrantsTaken).toBeGreaterThan(0);
    expect(result.summary.permitBeliefs).toBeGreaterThan(0);
  });
});
