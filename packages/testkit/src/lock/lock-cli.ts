// `pnpm sim lock`: the lock simulator from the command line. Runs generated lock schedules for
// a number of schedules or a duration, prints faults, interesting events and what the checkers
// saw (the search, saving and replay are schedule-search.ts).
import type { Command } from "commander";
import type { LockSimSummary, LockPlantedBugName } from "./lock-check.js";
import {
  LOCK_PLANTED_BUG_NAMES,
  lockPlantedBugs,
  lockSimulator,
  mergeLockSummaries,
} from "./lock-check.js";
import { missingLockEvents } from "./lock-events.js";
import type { LockPlanArbitraryOptions, LockProfile } from "./lock-plan-arbitrary.js";
import { LOCK_PROFILES } from "./lock-plan-arbitrary.js";
import type { LockSchedulePlan } from "./lock-plan.js";
import { validateLockPlan } from "./lock-plan.js";
import type { LockScheduleResult } from "./run-lock-schedule.js";
import type { Flags, SimulatorCommandSpec } from "../sim-cli-options.js";
import {
  addSimulatorCommand,
  commonOptionsOf,
  integerFlag,
  simOption,
  UsageError,
} from "../sim-cli-options.js";
import type { SimulatorCli, Write } from "../schedule-search.js";
import { ScheduleSearch } from "../schedule-search.js";

/** The lock simulator as the command line runs it. */
export const lockCli: SimulatorCli<
  LockSchedulePlan,
  LockScheduleResult,
  LockSimSummary,
  LockPlanArbitraryOptions
> = {
  ...lockSimulator,
  noun: "lock schedules",
  batchSchedules: 50,
  defaultSchedules: 500,
  failureFilePrefix: "locks-",
  progressFigure: ["grants", (result) => result.lockEvents.grants],
  mergeSummaries: mergeLockSummaries,
  validatePlan: validateLockPlan,
  seedOf: (plan) => plan.raft.seed,
  summaryLines: lockSummaryLines,
  summaryJsonExtras: (summary) => ({ missingEvents: missingLockEvents(summary.events) }),
};

/** The flags only the lock simulator takes (the legacy form rejects them without --locks). */
export const LOCK_ONLY_FLAGS = ["--lock-profile", "--client-faults-max", "--drift"] as const;

/** Adds the `lock` subcommand; `done` receives the exit code. */
export function addLockCommand(program: Command, write: Write, done: (code: number) => void): void {
  const spec: SimulatorCommandSpec = {
    name: "lock",
    description: "run generated lock schedules: real lock service, clients, leases and checkers",
    defaultSchedules: lockCli.defaultSchedules,
    bugNames: LOCK_PLANTED_BUG_NAMES,
    options: [
      simOption("--lock-profile <name>", `workload: ${LOCK_PROFILES.join(" | ")}`).default(
        "default",
      ),
      simOption("--client-faults-max <n>", "at most this many client faults per schedule"),
      simOption("--drift <factor>", "clock rates differ by up to this factor (0.01)"),
    ],
    run: (flags) => runLock(flags, write),
  };
  addSimulatorCommand(program, spec, done);
}

async function runLock(flags: Flags, write: Write): Promise<number> {
  const options = commonOptionsOf(flags);
  const lockProfile = String(flags.lockProfile) as LockProfile;
  if (!LOCK_PROFILES.includes(lockProfile)) {
    throw new UsageError(`--lock-profile must be one of ${LOCK_PROFILES.join(", ")}`);
  }
  for (const bug of options.bugNames) {
    if (!(LOCK_PLANTED_BUG_NAMES as readonly string[]).includes(bug)) {
      throw new UsageError(`--bug must be one of ${LOCK_PLANTED_BUG_NAMES.join(", ")} (lock)`);
    }
  }
  let driftFactor: number | undefined;
  if (flags.drift !== undefined) {
    driftFactor = Number(flags.drift);
    if (!(driftFactor >= 0 && driftFactor < 0.5)) {
      throw new UsageError(`--drift must be a number in [0, 0.5), got "${String(flags.drift)}"`);
    }
  }
  if (options.planFile !== null) return new ScheduleSearch(lockCli, write).replay(options.planFile);
  const generator: LockPlanArbitraryOptions = {
    nodeCounts: options.nodeCounts,
    profile: options.profile === "default" ? undefined : options.profile,
    lockProfile,
    plantedBugs: lockPlantedBugs(options.bugNames as LockPlantedBugName[]),
    faultPhaseMsMin: options.faultPhaseMsMin,
    faultPhaseMsMax: options.faultPhaseMsMax,
    faultsMax: options.faultsMax,
    clientFaultsMax: integerFlag("client-faults-max", flags.clientFaultsMax, 0) ?? undefined,
    driftFactor,
  };
  return new ScheduleSearch(lockCli, write).search(generator, options);
}

/** The summary the issue asks for: faults, interesting events, checker figures, throughput. */
function lockSummaryLines(summary: LockSimSummary, seed: number): string[] {
  const missing = missingLockEvents(summary.events);
  const list = (record: object): string =>
    Object.entries(record)
      .map(([kind, count]) => `${kind} ${count as number}`)
      .join(", ");
  const clusters = Object.entries(summary.byNodeCount)
    .map(([n, count]) => `${count} × ${n} nodes`)
    .join(", ");
  const events = summary.events;
  const clients = summary.clients;
  const lines: string[] = [];
  const add = (line: string): void => {
    lines.push(line);
  };
  add(`lock schedules run: ${summary.schedules} (${clusters || "none"}), first seed ${seed}`);
  add(`node faults:        ${list(summary.faults)}`);
  add(`client faults:      ${list(summary.clientFaults)}`);
  add(
    `crashes:            ${summary.crashes} (${summary.crashesLosingWrites} lost unsynced ` +
      `writes, ${summary.tornWrites} left a torn tail)`,
  );
  add(
    `interesting events: leader change during an acquire ${events.leaderChangeDuringAcquire}, ` +
      `expiry while the holder was paused ${events.expiryWhileHolderPaused}, ` +
      `crash between append and fsync ${events.crashBetweenAppendAndFsync}, ` +
      `refresh racing an expire ${events.refreshRacingExpire}`,
  );
  add(
    `                    pauses longer than a TTL: nodes ${events.nodePauseLongerThanTtl}, ` +
      `clients ${events.clientPauseLongerThanTtl}; ` +
      `wall-clock jumps ${events.wallClockJumps}` +
      (missing.length > 0 ? `; NEVER SEEN: ${missing.join(", ")}` : ""),
  );
  add(
    `grants:             ${events.grants} (${events.waiterGrants} to queued waiters), ` +
      `${events.expiries} leases expired, ${events.leaseCommandsCommitted} lease commands committed`,
  );
  add(
    `clients:            ${clients.locksTaken} locks and ${clients.grantsTaken} bare grants taken, ` +
      `${clients.locksLost} locks lost, ${clients.busy} busy, ${clients.unavailable} unavailable, ` +
      `${clients.reads} reads, ${clients.renewals} renewals, ${clients.lateRefreshes} late refreshes, ` +
      `${clients.staleReleasesRefused} stale releases refused`,
  );
  add(
    `semaphores:         ${summary.semaphoreSchedules} schedules with semaphore clients, ` +
      `${clients.permitGrantsTaken} permit grants taken, ${summary.permitBeliefs} permit ` +
      `beliefs checked against N`,
  );
  add(
    `rw locks:           ${summary.rwSchedules} schedules with reader-writer clients, ` +
      `${clients.rwGrantsTaken} read/write grants taken, ${summary.rwBeliefs} beliefs checked ` +
      `for writer exclusion`,
  );
  add(
    `leader elections:   ${summary.electionSchedules} schedules with campaigners, ` +
      `${clients.leadershipsTaken} leaderships won, ${summary.observations} observers reporting ` +
      `${clients.leadersObserved} leaders, checked against the committed leader sequence`,
  );
  add(
    `requests:           ${summary.requests} on the wire, ${summary.requestsUnanswered} never ` +
      `answered, ${summary.clientResets} connection resets`,
  );
  add(
    `fenced resource:    ${summary.writesAccepted} writes accepted, ${summary.writesRejected} ` +
      `rejected as stale`,
  );
  add(
    `checkers:           ${summary.beliefs} holder beliefs checked for overlap, ` +
      `${summary.linearizedOperations} operations linearized` +
      (summary.undecidedKeys > 0 ? ` (${summary.undecidedKeys} keys over the step budget)` : ""),
  );
  add(`elections:          ${summary.elections}, entries committed ${summary.entriesCommitted}`);
  add(
    `slowest recovery:   ${summary.recoveryMsMax.toFixed(0)} virtual ms from the heal until ` +
      `every key was taken again`,
  );
  return lines;
}
