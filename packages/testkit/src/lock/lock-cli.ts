// `pnpm sim --locks`: the lock simulator from the command line. Runs generated lock schedules for
// a number of schedules or a duration, prints faults, interesting events and what the checkers
// saw, and replays a failure from its seed and path or from a saved plan file.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PlanProfile } from "../plan-arbitrary.js";
import type { SimCliOptions } from "../sim-cli.js";
import type { LockPlantedBugName, LockSimFailure, LockSimSummary } from "./lock-check.js";
import {
  addToLockSummary,
  checkLockSchedules,
  emptyLockSummary,
  formatLockFailure,
  LOCK_PLANTED_BUG_NAMES,
  lockPlantedBugs,
  mergeLockSummaries,
} from "./lock-check.js";
import { missingLockEvents } from "./lock-events.js";
import type { LockPlanArbitraryOptions, LockProfile } from "./lock-plan-arbitrary.js";
import { LOCK_PROFILES } from "./lock-plan-arbitrary.js";
import type { LockSchedulePlan } from "./lock-plan.js";
import { validateLockPlan } from "./lock-plan.js";
import type { LockScheduleResult } from "./run-lock-schedule.js";
import { runLockSchedule } from "./run-lock-schedule.js";

/** Schedules per fast-check batch in --duration mode (each batch has its own seed). */
const BATCH_SCHEDULES = 50;
const PROGRESS_INTERVAL_MS = 5_000;
const FAILURE_DIR = ".sim-failures";
const DEFAULT_SCHEDULES = 500;

/** Runs `pnpm sim --locks ...` (options already parsed); returns the exit code. */
export async function lockMain(
  options: SimCliOptions,
  write: (line: string) => void,
): Promise<number> {
  const lockProfile = options.lockProfile as LockProfile;
  if (!LOCK_PROFILES.includes(lockProfile)) {
    write(`--lock-profile must be one of ${LOCK_PROFILES.join(", ")}`);
    return 2;
  }
  for (const bug of options.bugNames) {
    if (!(LOCK_PLANTED_BUG_NAMES as readonly string[]).includes(bug)) {
      write(`--bug must be one of ${LOCK_PLANTED_BUG_NAMES.join(", ")} (with --locks)`);
      return 2;
    }
  }
  if (options.joinerBootstrap !== "initial") {
    write("--joiner applies to the Raft simulator only");
    return 2;
  }
  if (options.planFile !== null) return replayLockPlanFile(options.planFile, write);

  const generator: LockPlanArbitraryOptions = {
    nodeCounts: options.nodeCounts,
    profile: options.profile === "default" ? undefined : (options.profile as PlanProfile),
    lockProfile,
    plantedBugs: lockPlantedBugs(options.bugNames as LockPlantedBugName[]),
    faultPhaseMsMin: options.faultPhaseMsMin,
    faultPhaseMsMax: options.faultPhaseMsMax,
    faultsMax: options.faultsMax,
    clientFaultsMax: options.clientFaultsMax,
    driftFactor: options.driftFactor,
  };
  const started = Date.now();
  let lastProgress = started;
  let schedulesRun = 0;
  let grants = 0;
  const onSchedule = (result: LockScheduleResult): void => {
    schedulesRun++;
    grants += result.lockEvents.grants;
    const now = Date.now();
    if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = now;
    const perMinute = (schedulesRun * 60_000) / Math.max(1, now - started);
    write(
      `[${((now - started) / 1000).toFixed(0)}s] ${schedulesRun} lock schedules, ${grants} grants, ` +
        `${perMinute.toFixed(0)} schedules/min`,
    );
  };

  const onViolationFound = (result: LockScheduleResult): void => {
    write(
      `violation found after ${schedulesRun} schedules: ` +
        `${result.violation?.message.split("\n")[0] ?? ""}`,
    );
    write("shrinking it (each step re-runs a schedule; up to a few minutes)...");
  };
  const summary = emptyLockSummary();
  let failure: LockSimFailure | null = null;
  const firstSeed = options.seed ?? (started ^ (process.pid << 8)) & 0x7fffffff;
  if (options.path !== null || options.durationMs === null) {
    const result = await checkLockSchedules({
      ...generator,
      numRuns: options.path !== null ? 1 : (options.schedules ?? DEFAULT_SCHEDULES),
      seed: firstSeed,
      path: options.path ?? undefined,
      onSchedule,
      onViolationFound,
    });
    mergeLockSummaries(summary, result.summary);
    failure = result.failure;
  } else {
    for (let batch = 0; Date.now() - started < options.durationMs && failure === null; batch++) {
      const result = await checkLockSchedules({
        ...generator,
        numRuns: BATCH_SCHEDULES,
        seed: (firstSeed + batch) & 0x7fffffff,
        onSchedule,
        onViolationFound,
      });
      mergeLockSummaries(summary, result.summary);
      failure = result.failure;
    }
  }
  const elapsedMs = Date.now() - started;
  printLockSummary(summary, elapsedMs, firstSeed, options.json, write);
  if (failure !== null) {
    const file = saveLockFailure(failure);
    write(formatLockFailure(failure));
    write(`  plan saved to ${file}; replay it with: pnpm sim --locks --plan ${file}`);
    return 1;
  }
  return 0;
}

/** The summary the issue asks for: faults, interesting events, checker figures, throughput. */
export function printLockSummary(
  summary: LockSimSummary,
  elapsedMs: number,
  seed: number,
  json: boolean,
  write: (line: string) => void,
): void {
  const perMinute = (summary.schedules * 60_000) / Math.max(1, elapsedMs);
  const missing = missingLockEvents(summary.events);
  if (json) {
    write(
      JSON.stringify({
        ...summary,
        seed,
        elapsedMs,
        schedulesPerMinute: perMinute,
        missingEvents: missing,
      }),
    );
    return;
  }
  const list = (record: object): string =>
    Object.entries(record)
      .map(([kind, count]) => `${kind} ${count as number}`)
      .join(", ");
  const clusters = Object.entries(summary.byNodeCount)
    .map(([n, count]) => `${count} × ${n} nodes`)
    .join(", ");
  const events = summary.events;
  const clients = summary.clients;
  write(`lock schedules run: ${summary.schedules} (${clusters || "none"}), first seed ${seed}`);
  write(`node faults:        ${list(summary.faults)}`);
  write(`client faults:      ${list(summary.clientFaults)}`);
  write(
    `crashes:            ${summary.crashes} (${summary.crashesLosingWrites} lost unsynced writes)`,
  );
  write(
    `interesting events: leader change during an acquire ${events.leaderChangeDuringAcquire}, ` +
      `expiry while the holder was paused ${events.expiryWhileHolderPaused}, ` +
      `crash between append and fsync ${events.crashBetweenAppendAndFsync}, ` +
      `refresh racing an expire ${events.refreshRacingExpire}`,
  );
  write(
    `                    pauses longer than a TTL: nodes ${events.nodePauseLongerThanTtl}, ` +
      `clients ${events.clientPauseLongerThanTtl}; ` +
      `wall-clock jumps ${events.wallClockJumps}` +
      (missing.length > 0 ? `; NEVER SEEN: ${missing.join(", ")}` : ""),
  );
  write(
    `grants:             ${events.grants} (${events.waiterGrants} to queued waiters), ` +
      `${events.expiries} leases expired, ${events.leaseCommandsCommitted} lease commands committed`,
  );
  write(
    `clients:            ${clients.locksTaken} locks and ${clients.grantsTaken} bare grants taken, ` +
      `${clients.locksLost} locks lost, ${clients.busy} busy, ${clients.unavailable} unavailable, ` +
      `${clients.reads} reads, ${clients.renewals} renewals, ${clients.lateRefreshes} late refreshes, ` +
      `${clients.staleReleasesRefused} stale releases refused`,
  );
  write(
    `requests:           ${summary.requests} on the wire, ${summary.requestsUnanswered} never ` +
      `answered, ${summary.clientResets} connection resets`,
  );
  write(
    `fenced resource:    ${summary.writesAccepted} writes accepted, ${summary.writesRejected} ` +
      `rejected as stale`,
  );
  write(
    `checkers:           ${summary.beliefs} holder beliefs checked for overlap, ` +
      `${summary.linearizedOperations} operations linearized` +
      (summary.undecidedKeys > 0 ? ` (${summary.undecidedKeys} keys over the step budget)` : ""),
  );
  write(`elections:          ${summary.elections}, entries committed ${summary.entriesCommitted}`);
  write(
    `slowest recovery:   ${summary.recoveryMsMax.toFixed(0)} virtual ms from the heal until ` +
      `every key was taken again`,
  );
  write(
    `throughput:         ${perMinute.toFixed(0)} schedules/minute ` +
      `(${(elapsedMs / 1000).toFixed(1)} s wall, ${(summary.virtualMs / 1000).toFixed(0)} s virtual)`,
  );
}

function saveLockFailure(failure: LockSimFailure): string {
  mkdirSync(FAILURE_DIR, { recursive: true });
  const file = join(FAILURE_DIR, `locks-seed-${failure.seed}-${failure.property}.json`);
  writeFileSync(file, JSON.stringify(failure, null, 2) + "\n");
  return file;
}

async function replayLockPlanFile(file: string, write: (line: string) => void): Promise<number> {
  let plan: LockSchedulePlan;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { plan?: unknown };
    plan = validateLockPlan(parsed.plan);
  } catch (error) {
    write(`cannot read plan ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const result = await runLockSchedule(plan);
  const summary = emptyLockSummary();
  addToLockSummary(summary, result);
  printLockSummary(summary, 1, plan.raft.seed, false, write);
  write(`trace hash:         ${result.traceHash}`);
  if (result.violation) {
    write(
      `VIOLATION ${result.violation.message} (at ${result.violation.timeMs?.toFixed(1) ?? "?"} ` +
        `virtual ms)`,
    );
    return 1;
  }
  write("no violation");
  return 0;
}
