import fc from "fast-check";
import { it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";

it("smoke", async () => {
  const plans = fc.sample(lockPlanArbitrary(), { seed: 42, numRuns: 20 });
  for (const plan of plans) {
    const started = performance.now();
    const result = await runLockSchedule(plan);
    console.log(
      `${(performance.now() - started).toFixed(0)} ms wall, ${result.virtualMs.toFixed(0)} virtual, events ${result.events}, ` +
        `reqs ${result.requests} unanswered ${result.requestsUnanswered}, beliefs ${result.beliefs}, ` +
        `writes ${JSON.stringify(result.writes)}, lin ${JSON.stringify(result.linearizability)}, recovery ${result.recoveryMs}, ` +
        `events ${JSON.stringify(result.lockEvents)} clients ${JSON.stringify(result.clients)}`,
    );
    if (result.violation) console.log("VIOLATION", result.violation.message);
  }
}, 600_000);
