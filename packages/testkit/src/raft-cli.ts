// `pnpm sim raft`: the Raft simulator from the command line (its flags and its summary; the
// search, saving and replay are schedule-search.ts).
import type { Command } from "commander";
import type { PlantedBugs } from "@dlock/raft";
import type { SchedulePlan } from "./plan.js";
import { validatePlan } from "./plan.js";
import type { PlanArbitraryOptions } from "./plan-arbitrary.js";
import type { ScheduleResult } from "./run-schedule.js";
import type { PlantedBugName, SimSummary } from "./sim-check.js";
import { mergeSummaries, PLANTED_BUG_NAMES, raftSimulator } from "./sim-check.js";
import type { Flags, SimulatorCommandSpec } from "./sim-cli-options.js";
import { addSimulatorCommand, commonOptionsOf, simOption, UsageError } from "./sim-cli-options.js";
import type { SimulatorCli, Write } from "./schedule-search.js";
import { replayPlan, searchSchedules } from "./schedule-search.js";

/** The Raft simulator as the command line runs it. */
export const raftCli: SimulatorCli<SchedulePlan, ScheduleResult, SimSummary, PlanArbitraryOptions> =
  {
    ...raftSimulator,
    noun: "schedules",
    batchSchedules: 100,
    defaultSchedules: 1000,
    failureFilePrefix: "",
    progressFigure: ["entries committed", (result) => result.committedIndex],
    mergeSummaries,
    validatePlan,
    seedOf: (plan) => plan.seed,
    printSummary,
  };

/** Adds the `raft` subcommand; `done` receives the exit code. */
export function addRaftCommand(program: Command, write: Write, done: (code: number) => void): void {
  const spec: SimulatorCommandSpec = {
    name: "raft",
    description: "run generated fault schedules through the Raft simulator (the default)",
    isDefault: true,
    defaultSchedules: raftCli.defaultSchedules,
    bugNames: PLANTED_BUG_NAMES,
    options: [
      simOption("--joiner <how>", "a joining node's membership: initial | empty").default(
        "initial",
      ),
    ],
    run: (flags) => runRaft(flags, write),
  };
  addSimulatorCommand(program, spec, done);
}

async function runRaft(flags: Flags, write: Write): Promise<number> {
  const options = commonOptionsOf(flags);
  const plantedBugs: PlantedBugs = {};
  for (const bug of options.bugNames) {
    if (!(PLANTED_BUG_NAMES as readonly string[]).includes(bug)) {
      throw new UsageError(`--bug must be one of ${PLANTED_BUG_NAMES.join(", ")}`);
    }
    plantedBugs[bug as PlantedBugName] = true;
  }
  const joiner = String(flags.joiner);
  if (joiner !== "initial" && joiner !== "empty") {
    throw new UsageError(`--joiner takes initial or empty, got "${joiner}"`);
  }
  if (options.planFile !== null) {
    return replayPlan(raftCli, options.planFile, write);
  }
  const generator: PlanArbitraryOptions = {
    nodeCounts: options.nodeCounts,
    profile: options.profile,
    plantedBugs: Object.keys(plantedBugs).length > 0 ? plantedBugs : undefined,
    faultPhaseMsMin: options.faultPhaseMsMin,
    faultPhaseMsMax: options.faultPhaseMsMax,
    faultsMax: options.faultsMax,
    joinerBootstrap: joiner,
  };
  return searchSchedules(raftCli, generator, options, write);
}

function printSummary(
  summary: SimSummary,
  elapsedMs: number,
  seed: number,
  json: boolean,
  write: Write,
): void {
  const perMinute = (summary.schedules * 60_000) / Math.max(1, elapsedMs);
  if (json) {
    write(JSON.stringify({ ...summary, seed, elapsedMs, schedulesPerMinute: perMinute }));
    return;
  }
  const faults = Object.entries(summary.faults)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  const clusters = Object.entries(summary.byNodeCount)
    .map(([n, count]) => `${count} × ${n} nodes`)
    .join(", ");
  write(`schedules run:      ${summary.schedules} (${clusters || "none"}), first seed ${seed}`);
  write(`faults injected:    ${faults}`);
  write(
    `crashes:            ${summary.crashes} (${summary.crashesLosingWrites} lost unsynced ` +
      `writes, ${summary.tornWrites} left a torn tail)`,
  );
  write(`elections:          ${summary.elections}`);
  write(`entries committed:  ${summary.entriesCommitted}`);
  write(`ReadIndex reads:    ${summary.readsServed} served`);
  write(
    `messages:           ${summary.messagesSent} sent, ${summary.messagesDropped} lost, ` +
      `${summary.messagesDuplicated} duplicated`,
  );
  write(
    `snapshots:          ${summary.compactions} taken, ${summary.snapshotsInstalled} installed`,
  );
  write(`slowest recovery:   ${summary.recoveryMsMax.toFixed(0)} virtual ms after faults stopped`);
  write(
    `throughput:         ${perMinute.toFixed(0)} schedules/minute ` +
      `(${(elapsedMs / 1000).toFixed(1)} s wall, ${(summary.virtualMs / 1000).toFixed(0)} s virtual)`,
  );
}
