import fc from "fast-check";
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

export interface CheckSchedulesOptions extends PlanArbitraryOptions {
  numRuns: number;
  /** fast-check seed of the batch (default: drawn by fast-check and reported). */
  seed?: number;
  /** fast-check path: replays exactly the (shrunk) schedule a failure reported. */
  path?: string;
  /** Shrink a failure to a smaller schedule (default true); false reports the first one found. */
  shrink?: boolean;
  /** Called after every schedule of the search (not of shrinking). */
  onSchedule?: (result: ScheduleResult) => void;
}

export interface SimFailure {
  seed: number;
  path: string;
  /** The shrunk schedule. */
  plan: SchedulePlan;
  violation: string;
  property: string;
  /** One line that replays this failure exactly. */
  replayCommand: string;
}

export interface CheckSchedulesResult {
  summary: SimSummary;
  seed: number;
  failure: SimFailure | null;
}

/**
 * Generates `numRuns` schedules with fast-check, runs each through every checker and, on the
 * first violation, shrinks it to a smaller schedule that still fails.
 */
export function checkSchedules(options: CheckSchedulesOptions): CheckSchedulesResult {
  const summary = emptySummary();
  let failed = false;
  const property = fc.property(planArbitrary(options), (plan) => {
    const result = runSchedule(plan);
    if (!failed) {
      addToSummary(summary, result);
      options.onSchedule?.(result);
    }
    if (result.violation) {
      failed = true;
      throw result.violation;
    }
  });
  const parameters: fc.Parameters<[SchedulePlan]> = {
    numRuns: options.numRuns,
    endOnFailure: options.shrink === false,
  };
  if (options.seed !== undefined) parameters.seed = options.seed;
  if (options.path !== undefined) parameters.path = options.path;
  const details = fc.check(property, parameters);
  if (!details.failed || details.counterexample === null) {
    return { summary, seed: details.seed, failure: null };
  }
  const plan = details.counterexample[0];
  const rerun = runSchedule(plan);
  const path = details.counterexamplePath ?? "";
  return {
    summary,
    seed: details.seed,
    failure: {
      seed: details.seed,
      path,
      plan,
      violation: rerun.violation?.message ?? String(details.errorInstance),
      property: rerun.violation?.property ?? "unknown",
      replayCommand: replayCommand({ ...options, seed: details.seed, path }),
    },
  };
}

const DEFAULT_NODE_COUNTS = "3,5";

/** The `pnpm sim` command line that replays (seed, path) with the same generator options. */
export function replayCommand(
  options: PlanArbitraryOptions & { seed: number; path: string },
): string {
  const parts = ["pnpm sim", `--seed=${options.seed}`, `--path=${options.path}`];
  const nodes = (options.nodeCounts ?? [3, 5]).join(",");
  if (nodes !== DEFAULT_NODE_COUNTS) parts.push(`--nodes=${nodes}`);
  if (options.profile && options.profile !== "default") parts.push(`--profile=${options.profile}`);
  for (const bug of plantedBugNames(options.plantedBugs)) parts.push(`--bug=${bug}`);
  if (options.faultPhaseMsMin !== undefined || options.faultPhaseMsMax !== undefined) {
    const min = options.faultPhaseMsMin ?? DEFAULT_FAULT_PHASE_MS_MIN;
    const max = options.faultPhaseMsMax ?? DEFAULT_FAULT_PHASE_MS_MAX;
    parts.push(`--phase-ms=${min}-${max}`);
  }
  if (options.faultsMax !== undefined) parts.push(`--faults-max=${options.faultsMax}`);
  if (options.joinerBootstrap === "empty") parts.push(`--joiner=empty`);
  return parts.join(" ");
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
export function formatFailure(failure: SimFailure): string {
  return [
    `VIOLATION ${failure.violation}`,
    `  fast-check seed ${failure.seed}, path ${failure.path}`,
    `  replay: ${failure.replayCommand}`,
  ].join("\n");
}
