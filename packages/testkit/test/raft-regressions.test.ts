import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validatePlan } from "../src/plan.js";
import { runSchedule } from "../src/run-schedule.js";
import { checkSchedules } from "../src/sim-check.js";
import { SHARE_TIMEOUT_MS } from "./schedule-helpers.js";

// Raft schedules the generated runs once failed on, kept as saved plans (the generator may change;
// a plan replays the same schedule regardless). Each test also checks that the schedule still
// reaches the situation it was kept for, or its passing would prove nothing.

function loadPlan(file: string) {
  const url = new URL(`./regressions/${file}`, import.meta.url);
  const saved = JSON.parse(readFileSync(url, "utf8")) as { plan: unknown };
  return validatePlan(saved.plan);
}

describe("Raft simulator regressions", () => {
  // Found by schedules-3-nodes-1 in the full suite (SIM_SEED=83170415, fast-check seed 83415904):
  // not a violation but a coverage bar — 12 crashes that tore unsynced writes in 625 schedules,
  // against more than 12.5. The host had stopped writing a batch for a commit index alone, so a
  // crash rarely found two unsynced batches to tear between (399 crashes losing writes, against
  // 549 and 61 torn with it). The change was reverted; it returned with aimed crashes (half the
  // generated crashes wait for two unsynced batches, SchedulePlan.crashAimPermille): 718 crashes
  // losing writes, 162 torn. Without the aim it would be 399 and 12 again.
  it(
    "seed 83415904: crashes tear unsynced writes in more than 5% of 625 schedules",
    async () => {
      const { summary, failure } = await checkSchedules({
        numRuns: 625,
        seed: 83415904,
        nodeCounts: [3],
      });
      expect(failure ?? null).toBeNull();
      expect(summary.crashesLosingWrites).toBeGreaterThan(625 / 10);
      // Raised from 2% when crashes were aimed (see schedule-helpers.ts).
      expect(summary.tornWrites).toBeGreaterThan(625 / 20);
    },
    SHARE_TIMEOUT_MS,
  );

  // pnpm sim replay packages/testkit/test/regressions/removed-voter-campaigns-seed-49006745.json
  // Found by SIM_SEED=48594957 on schedules-5-nodes-2 (fast-check seed 49006745, shrunk from
  // schedule 268). Pre-vote and check-quorum off. Leader n1 proposed its own removal at 4485 ms;
  // when the faults stopped the removal was in n3's and n4's logs but not committed, and the two
  // other voters of the new configuration (n2, n5) needed a snapshot (4-byte chunks). A leader of
  // the new configuration sent nothing to n1, so n1's election timer ran out every 50–100 ms and,
  // still promotable (its removal uncommitted), it campaigned in a higher term and deposed the
  // leader before either snapshot could finish: no entry committed for the whole 3.4 s bound.
  // A leader now also replicates to a voter the uncommitted change removed, until it commits.
  it("seed 49006745: a voter removed by an uncommitted change does not depose every new leader", async () => {
    const plan = loadPlan("removed-voter-campaigns-seed-49006745.json");
    // The situation it was kept for: a removal, with neither pre-vote nor check-quorum to stop
    // the removed voter's elections.
    expect(plan.preVote).toBe(false);
    expect(plan.checkQuorum).toBe(false);
    const result = await runSchedule(plan);
    expect(result.faults.membership).toBe(1);
    expect(result.violation?.message ?? null).toBeNull();
    expect(result.recoveryMs).not.toBeNull();
  });
  // pnpm sim replay packages/testkit/test/regressions/leader-applies-before-own-write-seed-1129355557.json
  // Found by `sim raft --schedules 200` (fast-check seed 1129355557, shrunk from schedule 32) on
  // a change of the service, not the checker: a leader applied committed entries before its own
  // copies were written (its two followers made the majority without it), and the applied index
  // rode in a batch ahead of the last entry's (writesPerBatchMax split them). A crash that lost
  // the unsynced rest left applied 523 above the last stored index 522, and the host would not
  // start. A leader now applies early only entries no write in flight carries.
  it("seed 1129355557: a leader never makes its applied index durable ahead of its log", async () => {
    const plan = loadPlan("leader-applies-before-own-write-seed-1129355557.json");
    const result = await runSchedule(plan);
    // The situation it was kept for: one crash that lost unsynced writes.
    expect(result.faults.crash).toBe(1);
    expect(result.crashesLosingWrites).toBe(1);
    expect(result.violation?.message ?? null).toBeNull();
  });
});
