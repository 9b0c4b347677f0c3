import { describe, expect, it } from "vitest";
import { checkLockSchedules, formatLockFailure } from "../../src/lock/lock-check.js";
import { expectLockBugFound } from "./lock-planted-bug-helpers.js";

// Planted election bugs, one in the server's leases and two in the client's observe(), found by
// generated lock schedules with campaigners and observers.
describe("planted election bugs are found", () => {
  it("electionLeaseCutShort: a queued campaigner leads while the leader's lease is live", async () => {
    await expectLockBugFound({
      bug: "electionLeaseCutShort",
      lockProfile: "default",
      budget: 20,
      seed: 1,
      properties: ["electionLeadership"],
    });
  });

  it("observeFromListRevision: an observer reports a leader change twice", async () => {
    await expectLockBugFound({
      bug: "observeFromListRevision",
      lockProfile: "default",
      budget: 40,
      seed: 1,
      properties: ["electionLeadership"],
    });
  });

  it("observeOneChangePerRevision: an observer misses the leader a handoff made", async () => {
    await expectLockBugFound({
      bug: "observeOneChangePerRevision",
      lockProfile: "default",
      budget: 40,
      seed: 1,
      properties: ["electionLeadership"],
    });
  });

  it("without the bugs, the same generated schedules pass, elections included", async () => {
    const result = await checkLockSchedules({ numRuns: 20, seed: 1, shrink: false });
    if (result.failure) expect.fail(formatLockFailure(result.failure));
    expect(result.summary.schedules).toBe(20);
    expect(result.summary.electionSchedules).toBeGreaterThan(0);
    expect(result.summary.clients.leadershipsTaken).toBeGreaterThan(0);
    expect(result.summary.observations).toBeGreaterThan(0);
    expect(result.summary.clients.leadersObserved).toBeGreaterThan(0);
  });
});
