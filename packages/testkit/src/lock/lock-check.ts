import type { LockClientCounters } from "./lock-client.js";
import { emptyClientCounters } from "./lock-client.js";
import type { LockEventCounts } from "./lock-events.js";
import { addLockEvents, emptyLockEvents } from "./lock-events.js";
import type { LockPlanArbitraryOptions } from "./lock-plan-arbitrary.js";
import {
  DEFAULT_DRIFT_FACTOR,
  DEFAULT_LOCK_FAULT_PHASE_MS_MAX,
  DEFAULT_LOCK_FAULT_PHASE_MS_MIN,
  lockPlanArbitrary,
} from "./lock-plan-arbitrary.js";
import type { LockPlantedBugs, LockSchedulePlan } from "./lock-plan.js";
import { hasCampaigns, hasRwOps, hasSemaphoreOps } from "./lock-plan.js";
import type { LockFaultCounts, LockScheduleResult } from "./run-lock-schedule.js";
import { runLockSchedule } from "./run-lock-schedule.js";
import type {
  CheckOptions,
  CheckResult,
  ScheduleFailure,
  ScheduleSimulator,
} from "../schedule-runner.js";
import { mergeCounts } from "../counts.js";
import {
  checkSchedulesWith,
  commonGeneratorFlags,
  formatScheduleFailure,
  replayCommandOf,
} from "../schedule-runner.js";

/** Totals over many lock schedules (shrinking runs excluded). */
export interface LockSimSummary extends LockFaultCounts {
  schedules: number;
  byNodeCount: Record<number, number>;
  events: LockEventCounts;
  clients: LockClientCounters;
  entriesCommitted: number;
  requests: number;
  requestsUnanswered: number;
  beliefs: number;
  /** Schedules whose clients take semaphore permits, and the permit beliefs checked. */
  semaphoreSchedules: number;
  /** Schedules whose clients take the reader-writer key, and the rw beliefs checked. */
  rwSchedules: number;
  rwBeliefs: number;
  permitBeliefs: number;
  /** Schedules whose clients campaign in an election, and the observe() calls checked. */
  electionSchedules: number;
  observations: number;
  writesAccepted: number;
  writesRejected: number;
  linearizedOperations: number;
  /** Keys whose linearizability search ran out of steps (neither proven nor refuted). */
  undecidedKeys: number;
  clientResets: number;
  virtualMs: number;
  worldEvents: number;
  /** Slowest time from the heal until every key was taken again, in virtual ms. */
  recoveryMsMax: number;
}

export function emptyLockSummary(): LockSimSummary {
  return {
    schedules: 0,
    byNodeCount: {},
    faults: { crash: 0, pause: 0, partition: 0, membership: 0, transfer: 0 },
    clientFaults: { clientPause: 0, clientCrash: 0, clientPartition: 0, clockJump: 0 },
    events: emptyLockEvents(),
    clients: emptyClientCounters(),
    elections: 0,
    entriesCommitted: 0,
    crashes: 0,
    crashesLosingWrites: 0,
    tornWrites: 0,
    snapshotsInstalled: 0,
    requests: 0,
    requestsUnanswered: 0,
    beliefs: 0,
    semaphoreSchedules: 0,
    rwSchedules: 0,
    rwBeliefs: 0,
    permitBeliefs: 0,
    electionSchedules: 0,
    observations: 0,
    writesAccepted: 0,
    writesRejected: 0,
    linearizedOperations: 0,
    undecidedKeys: 0,
    clientResets: 0,
    virtualMs: 0,
    worldEvents: 0,
    recoveryMsMax: 0,
  };
}

export function addToLockSummary(summary: LockSimSummary, result: LockScheduleResult): void {
  summary.schedules++;
  const n = result.plan.raft.nodeCount;
  summary.byNodeCount[n] = (summary.byNodeCount[n] ?? 0) + 1;
  mergeCounts(summary.faults, result.faults);
  mergeCounts(summary.clientFaults, result.clientFaults);
  addLockEvents(summary.events, result.lockEvents);
  mergeCounts(summary.clients, result.clients);
  summary.elections += result.elections;
  summary.entriesCommitted += result.committedIndex;
  summary.crashes += result.crashes;
  summary.crashesLosingWrites += result.crashesLosingWrites;
  summary.tornWrites += result.tornWrites;
  summary.snapshotsInstalled += result.snapshotsInstalled;
  summary.requests += result.requests;
  summary.requestsUnanswered += result.requestsUnanswered;
  summary.beliefs += result.beliefs;
  if (hasSemaphoreOps(result.plan)) summary.semaphoreSchedules++;
  summary.permitBeliefs += result.permitBeliefs;
  if (hasRwOps(result.plan)) summary.rwSchedules++;
  summary.rwBeliefs += result.rwBeliefs;
  if (hasCampaigns(result.plan)) summary.electionSchedules++;
  summary.observations += result.observations;
  summary.writesAccepted += result.writes.accepted;
  summary.writesRejected += result.writes.rejected;
  summary.linearizedOperations += result.linearizability.operations;
  summary.undecidedKeys += result.linearizability.undecidedKeys;
  summary.clientResets += result.clientNetwork.resets;
  summary.virtualMs += result.virtualMs;
  summary.worldEvents += result.events;
  summary.recoveryMsMax = Math.max(summary.recoveryMsMax, result.recoveryMs ?? 0);
}

/** Adds one summary into another (batches of a --duration run). */
export function mergeLockSummaries(into: LockSimSummary, from: LockSimSummary): void {
  mergeCounts(into, from);
}

/** Every planted bug the lock simulator knows, by its command-line name. */
export const LOCK_PLANTED_BUG_NAMES = [
  "noLeaseExtensionOnElection",
  "expireIgnoresRefresh",
  "grantWaiterWithoutLeaseCheck",
  "ignoreDrift",
  "timerFromReply",
  "readWithoutReadIndex",
  "waitEndsAtApply",
  "acknowledgeBeforePersist",
  "voteWithoutLogCheck",
  "commitPreviousTermByCounting",
  "clientUsesWallClock",
  "leasesUseWallClock",
  "semaphoreOvercommit",
  "rwReaderJoinsWriter",
  "electionLeaseCutShort",
  "observeFromListRevision",
  "observeOneChangePerRevision",
] as const;

export type LockPlantedBugName = (typeof LOCK_PLANTED_BUG_NAMES)[number];

type LockBugGroup = keyof NonNullable<LockPlanArbitraryOptions["plantedBugs"]>;

/** Which part of the system each planted bug lives in (the generator's option groups). */
const LOCK_BUG_GROUP: Record<LockPlantedBugName, LockBugGroup> = {
  noLeaseExtensionOnElection: "lock",
  expireIgnoresRefresh: "lock",
  grantWaiterWithoutLeaseCheck: "lock",
  ignoreDrift: "client",
  timerFromReply: "client",
  readWithoutReadIndex: "service",
  waitEndsAtApply: "service",
  acknowledgeBeforePersist: "raft",
  voteWithoutLogCheck: "raft",
  commitPreviousTermByCounting: "raft",
  clientUsesWallClock: "misuse",
  leasesUseWallClock: "misuse",
  semaphoreOvercommit: "lock",
  rwReaderJoinsWriter: "lock",
  electionLeaseCutShort: "lock",
  observeFromListRevision: "client",
  observeOneChangePerRevision: "client",
};

/** The generator's planted-bug option for a set of bug names. */
export function lockPlantedBugs(
  names: readonly LockPlantedBugName[],
): LockPlanArbitraryOptions["plantedBugs"] {
  if (names.length === 0) return undefined;
  const bugs: Record<string, Record<string, boolean>> = {};
  for (const name of names) {
    const group = LOCK_BUG_GROUP[name];
    bugs[group] = { ...bugs[group], [name]: true };
  }
  return bugs as NonNullable<LockPlanArbitraryOptions["plantedBugs"]>;
}

/** The bug names a planted-bug option switches on (inverse of lockPlantedBugs). */
export function lockPlantedBugNames(
  bugs: LockPlanArbitraryOptions["plantedBugs"] | LockPlantedBugs | undefined,
): LockPlantedBugName[] {
  if (bugs === undefined) return [];
  const on = new Set<string>();
  const layers: (object | undefined)[] = [bugs.lock, bugs.client, bugs.service, bugs.misuse];
  if ("raft" in bugs) layers.push(bugs.raft);
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer ?? {})) if (value === true) on.add(name);
  }
  return LOCK_PLANTED_BUG_NAMES.filter((name) => on.has(name));
}

export type CheckLockSchedulesOptions = LockPlanArbitraryOptions & CheckOptions<LockScheduleResult>;
export type LockSimFailure = ScheduleFailure<LockSchedulePlan>;
export type CheckLockSchedulesResult = CheckResult<LockSchedulePlan, LockSimSummary>;

/** Default shrinking budget, in schedules run while shrinking. */
export const SHRINK_RUNS_MAX = 500;

/** The lock simulator, as the generic schedule runner sees it. */
export const lockSimulator: ScheduleSimulator<
  LockSchedulePlan,
  LockScheduleResult,
  LockSimSummary,
  LockPlanArbitraryOptions
> = {
  command: "lock",
  // Lock schedules are long: shrinking stops at this budget with the smallest failure so far.
  shrinkRunsMax: SHRINK_RUNS_MAX,
  arbitrary: lockPlanArbitrary,
  run: (plan) => runLockSchedule(plan),
  emptySummary: emptyLockSummary,
  addToSummary: addToLockSummary,
  generatorFlags(options) {
    const flags = commonGeneratorFlags(options, lockPlantedBugNames(options.plantedBugs), [
      DEFAULT_LOCK_FAULT_PHASE_MS_MIN,
      DEFAULT_LOCK_FAULT_PHASE_MS_MAX,
    ]);
    if (options.lockProfile !== undefined && options.lockProfile !== "default") {
      flags.push(`--lock-profile=${options.lockProfile}`);
    }
    if (options.clientFaultsMax !== undefined) {
      flags.push(`--client-faults-max=${options.clientFaultsMax}`);
    }
    if (options.driftFactor !== undefined && options.driftFactor !== DEFAULT_DRIFT_FACTOR) {
      flags.push(`--drift=${options.driftFactor}`);
    }
    return flags;
  },
};

/**
 * Generates `numRuns` lock schedules with fast-check, runs each through every checker and, on
 * the first violation, shrinks it to a smaller schedule that still fails.
 */
export function checkLockSchedules(
  options: CheckLockSchedulesOptions,
): Promise<CheckLockSchedulesResult> {
  return checkSchedulesWith(lockSimulator, options, options);
}

/** The `pnpm sim lock` command line that replays (seed, path) with the same generator. */
export function lockReplayCommand(
  options: LockPlanArbitraryOptions & { seed: number; path: string },
): string {
  return replayCommandOf(lockSimulator, options, options.seed, options.path);
}

/** Human-readable report of a failure. */
export const formatLockFailure: (failure: LockSimFailure) => string = formatScheduleFailure;
