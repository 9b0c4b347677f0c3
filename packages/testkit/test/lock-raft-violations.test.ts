import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lockPlanArbitrary } from "../src/lock/lock-plan-arbitrary.js";
import { runLockSchedule } from "../src/lock/run-lock-schedule.js";

// The production host catches what its Ready loop throws (and fails), so a Raft property the
// monitor finds broken inside it must still end the lock run as that violation: the monitor keeps
// the first one. A core bug that acknowledges before persisting breaks commit durability.
describe("lock schedules report Raft violations found inside a host's Ready loop", () => {
  it("acknowledgeBeforePersist: the lock run fails with the kept commitDurability violation", async () => {
    const plans = fc.sample(
      lockPlanArbitrary({
        profile: "slowDisk",
        plantedBugs: { raft: { acknowledgeBeforePersist: true } },
      }),
      { seed: 1, numRuns: 20 },
    );
    let found: string | null = null;
    for (const plan of plans) {
      const result = await runLockSchedule(plan);
      if (result.violation !== null) {
        found = `${result.violation.property}: ${result.violation.message}`;
        console.log(`found in schedule ${plans.indexOf(plan) + 1}: ${found}`);
        expect(result.violation.property).toBe("commitDurability");
        // The first one: the leader reported index 1 committed (in its Ready loop) while no disk
        // held it. Without the kept violation the run went on and reported a later symptom.
        expect(result.violation.message).toMatch(
          /index 1 is reported committed but durable only on \[\]/,
        );
        break;
      }
    }
    expect(found, "no violation within 20 lock schedules (seed 1)").not.toBeNull();
  });
});
