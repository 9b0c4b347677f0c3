import fc from "fast-check";
import { writeFileSync } from "node:fs";
import { it } from "vitest";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";

it("sweep", async () => {
  const plans = fc.sample(lockPlanArbitrary(), {
    seed: Number(process.env.SEED ?? 42),
    numRuns: Number(process.env.N ?? 200),
  });
  let total = 0;
  let max = 0;
  const started = performance.now();
  for (let i = 0; i < plans.length; i++) {
    const t = performance.now();
    const result = await runLockSchedule(plans[i]);
    const ms = performance.now() - t;
    total += result.linearizability.steps;
    max = Math.max(max, result.linearizability.steps);
    if (result.linearizability.undecidedKeys > 0 || result.violation) {
      console.log(
        i,
        ms.toFixed(0),
        JSON.stringify(result.linearizability),
        result.events,
        result.violation?.message,
      );
      writeFileSync(`/tmp/plan-${i}.json`, JSON.stringify(plans[i]));
    }
  }
  console.log("total", (performance.now() - started).toFixed(0), "lin steps", total, "max", max);
}, 1_200_000);
