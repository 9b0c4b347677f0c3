import fc from "fast-check";
import { RaftHost } from "@dlock/server/internal";
import { describe, expect, it, vi } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";

// The lock simulator runs the production host: every node runs RaftHost (the class DlockServer
// runs) on virtual time, and a run stays a pure function of its plan.
describe("lock schedules on the production RaftHost", () => {
  it("start RaftHost itself on every node, replay exactly and find no violation", async () => {
    const start = vi.spyOn(RaftHost, "start");
    try {
      for (const lockProfile of ["default", "contention", "races", "stale"] as const) {
        const [plan] = fc.sample(lockPlanArbitrary({ lockProfile }), { seed: 12, numRuns: 1 });
        start.mockClear();
        const first = await runLockSchedule(plan);
        expect(first.violation?.message ?? null).toBeNull();
        // One host per node start (restarts included), each the production class.
        expect(start.mock.calls.length).toBeGreaterThanOrEqual(plan.raft.nodeCount);
        for (const result of start.mock.results) {
          expect(await (result.value as Promise<unknown>)).toBeInstanceOf(RaftHost);
        }
        const second = await runLockSchedule(structuredClone(plan));
        expect(second.traceHash).toBe(first.traceHash);
        expect(second.events).toBe(first.events);
        expect(second.history.beliefs).toEqual(first.history.beliefs);
        expect(second.lockEvents).toEqual(first.lockEvents);
        expect(first.clients.locksTaken + first.clients.grantsTaken).toBeGreaterThan(0);
      }
    } finally {
      start.mockRestore();
    }
  });
});
