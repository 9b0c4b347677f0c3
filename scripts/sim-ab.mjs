#!/usr/bin/env node
// A/B of the lock simulator between two built checkouts (e.g. a copy of main and a branch): the
// same generated schedules run in each, one child process per run, alternating A and B for
// --rounds rounds. Prints whether every schedule behaved identically (trace hash, events and a
// hash of the whole result but the plan) and the median CPU and wall time of each side.
//
//   node scripts/sim-ab.mjs --a /tmp/main-copy --b . [--seed 1] [--schedules 100] [--rounds 3]
//                           [--lock-profile default]
//
// Both checkouts must be built (pnpm run build). On a shared machine compare CPU time, and prefer
// the median of several rounds to any single run.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string", default: "." },
    seed: { type: "string", default: "1" },
    schedules: { type: "string", default: "100" },
    rounds: { type: "string", default: "3" },
    "lock-profile": { type: "string", default: "default" },
    worker: { type: "string" },
  },
});

if (values.worker !== undefined) {
  await runWorker(resolve(values.worker));
} else {
  if (values.a === undefined) throw new Error("--a DIR (a built checkout) is required");
  compare(resolve(values.a), resolve(values.b));
}

/** Runs the schedules in one checkout; prints one JSON line: fingerprints and times. */
async function runWorker(root) {
  const testkit = `${root}/packages/testkit`;
  const fc = (await import(createRequire(`${testkit}/package.json`).resolve("fast-check"))).default;
  const { lockPlanArbitrary } = await import(`${testkit}/dist/lock/lock-plan-arbitrary.js`);
  const { runLockSchedule } = await import(`${testkit}/dist/lock/run-lock-schedule.js`);
  const plans = fc.sample(lockPlanArbitrary({ lockProfile: values["lock-profile"] }), {
    seed: Number(values.seed),
    numRuns: Number(values.schedules),
  });
  // As the sim CLI runs them: the services' errors are read, never their stacks.
  Error.stackTraceLimit = 0;
  const fingerprints = [];
  let cpuMs = 0;
  let wallMs = 0;
  for (const plan of plans) {
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    const result = await runLockSchedule(plan);
    const cpu = process.cpuUsage(cpuBefore);
    cpuMs += (cpu.user + cpu.system) / 1000;
    wallMs += performance.now() - wallBefore;
    const { plan: _plan, ...rest } = result;
    const hash = createHash("sha1").update(JSON.stringify(rest)).digest("hex").slice(0, 12);
    fingerprints.push(`${result.traceHash} ${result.events} ${hash}`);
  }
  console.log(JSON.stringify({ fingerprints, cpuMs, wallMs }));
}

function compare(a, b) {
  const self = fileURLToPath(import.meta.url);
  const runs = { a: [], b: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [side, root] of [
      ["a", a],
      ["b", b],
    ]) {
      const args = [self, "--worker", root, "--seed", values.seed, "--schedules", values.schedules];
      args.push("--lock-profile", values["lock-profile"]);
      const out = execFileSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 26 });
      const run = JSON.parse(out.trim().split("\n").at(-1));
      runs[side].push(run);
      console.log(
        `round ${round + 1} ${side}: ${run.cpuMs.toFixed(0)} ms CPU, ${run.wallMs.toFixed(0)} ms ` +
          `wall (load ${loadavg()[0].toFixed(1)})`,
      );
    }
  }
  const differing = runs.a[0].fingerprints.filter((f, i) => f !== runs.b[0].fingerprints[i]);
  console.log(
    differing.length === 0
      ? `identical: all ${runs.a[0].fingerprints.length} schedules behaved the same`
      : `DIFFERENT: ${differing.length} of ${runs.a[0].fingerprints.length} schedules`,
  );
  const median = (side, key) => {
    const sorted = runs[side].map((run) => run[key]).sort((x, y) => x - y);
    return sorted[sorted.length >> 1];
  };
  for (const key of ["cpuMs", "wallMs"]) {
    const ratio = median("a", key) / median("b", key);
    console.log(
      `median ${key}: a ${median("a", key).toFixed(0)}, b ${median("b", key).toFixed(0)} ` +
        `(b is ${ratio.toFixed(3)}× as fast)`,
    );
  }
  if (differing.length > 0) process.exitCode = 1;
}
