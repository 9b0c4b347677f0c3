import { describe, expect, it } from "vitest";
import { checkLockSchedules, formatLockFailure } from "../../src/lock/lock-check.js";
import { expectLockBugFound } from "./lock-planted-bug-helpers.js";

// Planted bugs of the multi-holder table (@dlock/server/lock: semaphores and reader-writer
// locks), found by generated lock schedules.
describe("planted semaphore and reader-writer bugs are found", () => {
  it("semaphoreOvercommit: an acquire is granted without counting the permits held", async () => {
    await expectLockBugFound({
      bug: "semaphoreOvercommit",
      lockProfile: "default",
      budget: 20,
      seed: 1,
      properties: ["semaphoreCapacity"],
    });
  });

  it("rwReaderJoinsWriter: a reader is granted while a writer holds the key", async () => {
    await expectLockBugFound({
      bug: "rwReaderJoinsWriter",
      lockProfile: "default",
      budget: 20,
      seed: 1,
      properties: ["readerWriterExclusion"],
    });
  });

  it("without the bugs, the same generated schedules pass, semaphore and rw clients included", async () => {
    const result = await checkLockSchedules({ numRuns: 20, seed: 1, shrink: false });
    if (result.failure) expect.fail(formatLockFailure(result.failure));
    const { summary } = result;
    expect(summary.schedules).toBe(20);
    expect(summary.semaphoreSchedules).toBeGreaterThan(0);
    expect(summary.clients.permitGrantsTaken).toBeGreaterThan(0);
    expect(summary.permitBeliefs).toBeGreaterThan(0);
    expect(summary.rwSchedules).toBeGreaterThan(0);
    expect(summary.clients.rwGrantsTaken).toBeGreaterThan(0);
    expect(summary.rwBeliefs).toBeGreaterThan(0);
  });
});
