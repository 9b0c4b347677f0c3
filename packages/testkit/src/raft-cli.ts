// `pnpm sim raft`: the Raft simulator from the command line (its flags and its summary; the
// search, saving and replay are schedule-search.ts).
import type { Command } from "commander";
import type { PlantedBugs } from "@dlock/raft/internal";
import type { SchedulePlan } from "./plan.js";
import { validatePlan } from "./plan.js";
import type { PlanArbitraryOptions } from "./plan-arbitrary.js";
import type { ScheduleResult } from "./run-schedule.js";
import type { PlantedBugName, SimSummary } from "./sim-check.js";
import { mergeSummaries, PLANTED_BUG_NAMES, raftSimulator } from "./sim-check.js";
import type { Flags, SimulatorCommandSpec } from "./sim-cli-options.js";
import { addSimulatorCommand, commonOptionsOf, simOption, UsageError } from "./sim-cli-options.js";
import type { SimulatorCli, Write } from "./schedule-search.js";
import { ScheduleSearch } from "./schedule-search.js";

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
    summaryLines,
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
    return new ScheduleSearch(raftCli, write).replay(options.planFile);
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
  return new ScheduleSearch(raftCli, write).search(generator, options);
}

function summaryLines(summary: SimSummary, seed: number): string[] {
  const faults = Object.entries(summary.faults)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(", ");
  const clusters = Object.entries(summary.byNodeCount)
    .map(([n, count]) => `${count} × ${n} nodes`)
    .join(", ");
  return [
    `schedules run:      ${summary.schedules} (${clusters || "none"}), first seed ${seed}`,
    `faults injected:    ${faults}`,
    `crashes:            ${summary.crashes} (${summary.crashesLosingWrites} lost unsynced ` +
      `writes, ${summary.tornWrites} left a torn tail)`,
    `elections:          ${summary.elections}`,
    `entries committed:  ${summary.entriesCommitted}`,
    `ReadIndex reads:    ${summary.readsServed} served`,
    `messages:           ${summary.messagesSent} sent, ${summary.messagesDropped} lost, ` +
      `${summary.messagesDuplicated} duplicated`,
    `snapshots:          ${summary.compactions} taken, ${summary.snapshotsInstalled} installed`,
    `slowest recovery:   ${summary.recoveryMsMax.toFixed(0)} virtual ms after faults stopped`,
  ];
}
