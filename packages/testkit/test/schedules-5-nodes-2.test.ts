import { describe, expect, it } from "vitest";
import { expectNoViolation, scheduleSeed } from "./schedule-helpers.js";

// Half of the 5-node share of the ≥ 2,000 generated fault schedules `pnpm test` runs (four
// files, so vitest spreads them over the cores).
const SCHEDULES = 625;

describe("generated fault schedules, 5 nodes (part 2)", () => {
  it("finds no violation of any Raft property and recovers after faults stop", () => {
    const summary = expectNoViolation(
      { numRuns: SCHEDULES, seed: scheduleSeed(52), nodeCounts: [5] },
      "5 nodes, part 2",
    );
    expect(summary.schedules).toBe(SCHEDULES);
    expect(summary.byNodeCount[5]).toBe(SCHEDULES);
    // The schedules must actually exercise the hard cases, or zero violations means nothing.
    expect(summary.faults.crash).toBeGreaterThan(SCHEDULES / 2);
    expect(summary.faults.partition).toBeGreaterThan(SCHEDULES / 2);
    expect(summary.faults.pause).toBeGreaterThan(SCHEDULES / 10);
    expect(summary.faults.membership).toBeGreaterThan(SCHEDULES / 10);
    expect(summary.faults.transfer).toBeGreaterThan(SCHEDULES / 20);
    expect(summary.snapshotsInstalled).toBeGreaterThan(SCHEDULES / 10);
    expect(summary.elections).toBeGreaterThan(SCHEDULES);
    expect(summary.entriesCommitted).toBeGreaterThan(SCHEDULES * 20);
    expect(summary.readsServed).toBeGreaterThan(SCHEDULES);
    expect(summary.crashesLosingWrites).toBeGreaterThan(SCHEDULES / 10);
    expect(summary.tornWrites).toBeGreaterThan(SCHEDULES / 50);
  });
});
