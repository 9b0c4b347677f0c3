import type { PlantedBugs } from "@dlock/raft/internal";
import type { FaultKind, SchedulePlan } from "./plan.js";
import type { PlanArbitraryOptions } from "./plan-arbitrary.js";
import {
  DEFAULT_FAULT_PHASE_MS_MAX,
  DEFAULT_FAULT_PHASE_MS_MIN,
  planArbitrary,
} from "./plan-arbitrary.js";
import type { ScheduleResult } from "./run-schedule.js";
import { runSchedule } from "./run-schedule.js";
import { mergeCounts } from "./counts.js";
import type {
  CheckOptions,
  CheckResult,
  ScheduleFailure,
  ScheduleSimulator,
} from "./schedule-runner.js";
import {
  checkSchedulesWith,
  commonGeneratorFlags,
  formatScheduleFailure,
  replayCommandOf,
} from "./schedule-runner.js";

/** Totals over many schedules (shrinking runs excluded). */
export interface SimSummary {
  schedules: number;
  faults: Record<FaultKind, number>;
  elections: number;
  entriesCommitted: number;
  proposalsAccepted: number;
  readsServed: number;
  snapshotsInstalled: number;
  compactions: number;
  crashes: number;
  crashesLosingWrites: number;
  tornWrites: number;
  messagesSent: number;
  messagesDropped: number;
  messagesDuplicated: number;
  virtualMs: number;
  events: number;
  /** Slowest recovery after faults stopped, in virtual ms. */
  recoveryMsMax: number;
  byNodeCount: Record<number, number>;
}

export function emptySummary(): SimSummary {
  return {
    schedules: 0,
    faults: { crash: 0, pause: 0, partition: 0, membership: 0, transfer: 0 },
    elections: 0,
    entriesCommitted: 0,
    proposalsAccepted: 0,
    readsServed: 0,
    snapshotsInstalled: 0,
    compactions: 0,
    crashes: 0,
    crashesLosingWrites: 0,
    tornWrites: 0,
    messagesSent: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
    virtualMs: 0,
    events: 0,
    recoveryMsMax: 0,
    byNodeCount: {},
  };
}

export function addToSummary(summary: SimSummary, result: ScheduleResult): void {
  summary.schedules++;
  for (const kind of Object.keys(result.faults) as FaultKind[]) {
    summary.faults[kind] += result.faults[kind];
  }
  summary.elections += result.elections;
  summary.entriesCommitted += result.committedIndex;
  summary.proposalsAccepted += result.proposals.accepted;
  summary.readsServed += result.reads.served;
  summary.snapshotsInstalled += result.snapshotsInstalled;
  summary.compactions += result.compactions;
  summary.crashes += result.crashes;
  summary.crashesLosingWrites += result.crashesLosingWrites;
  summary.tornWrites += result.tornWrites;
  summary.messagesSent += result.network.sent;
  summary.messagesDropped += result.network.dropped + result.network.blocked;
  summary.messagesDuplicated += result.network.duplicated;
  summary.virtualMs += result.virtualMs;
  summary.events += result.events;
  summary.recoveryMsMax = Math.max(summary.recoveryMsMax, result.recoveryMs ?? 0);
  const n = result.plan.nodeCount;
  summary.byNodeCount[n] = (summary.byNodeCount[n] ?? 0) + 1;
}

/** Adds one summary into another (batches of a --duration run). */
export function mergeSummaries(into: SimSummary, from: SimSummary): void {
  mergeCounts(into, from);
}

export type CheckSchedulesOptions = PlanArbitraryOptions & CheckOptions<ScheduleResult>;
export type SimFailure = ScheduleFailure<SchedulePlan>;
export type CheckSchedulesResult = CheckResult<SchedulePlan, SimSummary>;

/** The Raft simulator, as the generic schedule runner sees it. */
export const raftSimulator: ScheduleSimulator<
  SchedulePlan,
  ScheduleResult,
  SimSummary,
  PlanArbitraryOptions
> = {
  command: "raft",
  // Raft schedules are short: shrinking runs to the end.
  shrinkRunsMax: Number.POSITIVE_INFINITY,
  arbitrary: planArbitrary,
  run: (plan) => runSchedule(plan),
  emptySummary,
  addToSummary,
  generatorFlags(options) {
    const flags = commonGeneratorFlags(options, plantedBugNames(options.plantedBugs), [
      DEFAULT_FAULT_PHASE_MS_MIN,
      DEFAULT_FAULT_PHASE_MS_MAX,
    ]);
    if (options.joinerBootstrap === "empty") flags.push(`--joiner=empty`);
    return flags;
  },
};

/**
 * Generates `numRuns` schedules with fast-check, runs each through every checker and, on the
 * first violation, shrinks it to a smaller schedule that still fails.
 */
export function checkSchedules(options: CheckSchedulesOptions): Promise<CheckSchedulesResult> {
  return checkSchedulesWith(raftSimulator, options, options);
}

/** The `pnpm sim raft` command line that replays (seed, path) with the same generator options. */
export function replayCommand(
  options: PlanArbitraryOptions & { seed: number; path: string },
): string {
  return replayCommandOf(raftSimulator, options, options.seed, options.path);
}

export const PLANTED_BUG_NAMES = [
  "commitPreviousTermByCounting",
  "voteWithoutLogCheck",
  "acknowledgeBeforePersist",
] as const;

export type PlantedBugName = (typeof PLANTED_BUG_NAMES)[number];

function plantedBugNames(bugs: PlantedBugs | undefined): PlantedBugName[] {
  if (!bugs) return [];
  return PLANTED_BUG_NAMES.filter((name) => bugs[name] === true);
}

/** Human-readable one-paragraph report of a failure. */
export const formatFailure: (failure: SimFailure) => string = formatScheduleFailure;
