import fc from "fast-check";
import { it } from "vitest";
import type { LockPlanArbitraryOptions } from "../../src/lock/lock-plan-arbitrary.js";
import { lockPlanArbitrary } from "../../src/lock/lock-plan-arbitrary.js";
import { runLockSchedule } from "../../src/lock/run-lock-schedule.js";

const profiles = ["default", "contention", "races", "stale"] as const;
const cases: [string, LockPlanArbitraryOptions][] = [
  ["none", {}],
  ["noLeaseExtensionOnElection", { plantedBugs: { lock: { noLeaseExtensionOnElection: true } } }],
  ["expireIgnoresRefresh", { plantedBugs: { lock: { expireIgnoresRefresh: true } } }],
  ["grantWaiterWithoutLeaseCheck", { plantedBugs: { lock: { grantWaiterWithoutLeaseCheck: true } } }],
  ["ignoreDrift", { plantedBugs: { client: { ignoreDrift: true } } }],
  ["timerFromReply", { plantedBugs: { client: { timerFromReply: true } } }],
  ["readWithoutReadIndex", { plantedBugs: { service: { readWithoutReadIndex: true } } }],
  ["acknowledgeBeforePersist", { plantedBugs: { raft: { acknowledgeBeforePersist: true } }, profile: "slowDisk" }],
  ["clientUsesWallClock", { plantedBugs: { misuse: { clientUsesWallClock: true } } }],
  ["leasesUseWallClock", { plantedBugs: { misuse: { leasesUseWallClock: true } } }],
];

it("bugs", async () => {
  const budget = Number(process.env.BUDGET ?? 100);
  const only = process.env.ONLY;
  for (const [name, options] of cases) {
    if (only && !only.split(",").includes(name)) continue;
    const line: string[] = [];
    for (const lockProfile of profiles) {
      const plans = fc.sample(lockPlanArbitrary({ ...options, lockProfile }), { seed: 7, numRuns: budget });
      let found = -1;
      let message = "";
      const started = performance.now();
      const events: Record<string, number> = {};
      for (let i = 0; i < plans.length; i++) {
        const result = await runLockSchedule(plans[i]);
        for (const [k, v] of Object.entries(result.lockEvents)) events[k] = (events[k] ?? 0) + v;
        if (result.violation) {
          found = i;
          message = result.violation.message.split("\n")[0].slice(0, 160);
          break;
        }
      }
      line.push(`  ${lockProfile}: ${found < 0 ? "NOT found" : `found at ${found}`} (${(performance.now() - started).toFixed(0)} ms) ${message}` + (name === "none" ? ` ${JSON.stringify(events)}` : ""));
    }
    console.log(`${name}\n${line.join("\n")}`);
  }
}, 3_600_000);
