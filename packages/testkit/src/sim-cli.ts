#!/usr/bin/env node
// `pnpm sim`: runs the deterministic Raft simulator for a number of schedules or a duration and
// prints what it did; replays a failure from its seed and path, or from a saved plan file.
// `pnpm sim --locks` does the same with the lock simulator (lock/, see lock-cli.ts).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { PlantedBugs } from "@dlock/raft";
import type { SchedulePlan } from "./plan.js";
import { validatePlan } from "./plan.js";
import type { PlanProfile } from "./plan-arbitrary.js";
import { PLAN_PROFILES } from "./plan-arbitrary.js";
import { lockMain } from "./lock/lock-cli.js";
import { hostCatchUpMain } from "./lock/host-cli.js";
import type { ScheduleResult } from "./run-schedule.js";
import { runSchedule } from "./run-schedule.js";
import type { PlantedBugName, SimFailure, SimSummary } from "./sim-check.js";
import {
  addToSummary,
  checkSchedules,
  emptySummary,
  formatFailure,
  PLANTED_BUG_NAMES,
} from "./sim-check.js";

/** Schedules per fast-check batch in --duration mode (each batch has its own seed). */
const BATCH_SCHEDULES = 100;
const PROGRESS_INTERVAL_MS = 5_000;
const FAILURE_DIR = ".sim-failures";
const DEFAULT_SCHEDULES = 1000;

export class UsageError extends Error {
  readonly code = "USAGE";
}

export interface SimCliOptions {
  /** Lock mode: the lock simulator (clients, leases, lock checkers) instead of bare Raft. */
  locks: boolean;
  /** Lock mode: the workload profile (LockProfile), the client fault bound, the drift factor. */
  lockProfile: string;
  clientFaultsMax: number | undefined;
  driftFactor: number | undefined;
  /** The --bug names as given (checked against the mode's list). */
  bugNames: string[];
  schedules: number | null;
  durationMs: number | null;
  seed: number | null;
  path: string | null;
  planFile: string | null;
  nodeCounts: number[];
  profile: PlanProfile;
  plantedBugs: PlantedBugs;
  faultPhaseMsMin: number | undefined;
  faultPhaseMsMax: number | undefined;
  faultsMax: number | undefined;
  joinerBootstrap: "initial" | "empty";
  json: boolean;
}

/** Parses `--duration` values such as 90s, 10m, 1h or plain milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`bad duration "${text}" (use e.g. 500ms, 90s, 10m, 1h)`);
  const unit = match[2] ?? "ms";
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] as number;
  return Math.round(Number(match[1]) * factor);
}

export function parseSimArgs(argv: string[]): SimCliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      schedules: { type: "string" },
      duration: { type: "string" },
      seed: { type: "string" },
      path: { type: "string" },
      plan: { type: "string" },
      nodes: { type: "string" },
      profile: { type: "string" },
      bug: { type: "string", multiple: true },
      "phase-ms": { type: "string" },
      "faults-max": { type: "string" },
      joiner: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean" },
      locks: { type: "boolean" },
      "lock-profile": { type: "string" },
      "client-faults-max": { type: "string" },
      drift: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new UsageError(USAGE);
  const integer = (name: string, text: string | undefined, min: number): number | null => {
    if (text === undefined) return null;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) {
      throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${text}"`);
    }
    return value;
  };
  const nodeCounts = (values.nodes ?? "3,5").split(",").map((part) => Number(part));
  if (nodeCounts.some((n) => n !== 3 && n !== 5)) {
    throw new UsageError(`--nodes takes 3, 5 or 3,5; got "${values.nodes}"`);
  }
  const profile = (values.profile ?? "default") as PlanProfile;
  if (!PLAN_PROFILES.includes(profile)) {
    throw new UsageError(`--profile must be one of ${PLAN_PROFILES.join(", ")}`);
  }
  const locks = values.locks === true;
  if (!locks) {
    for (const flag of ["lock-profile", "client-faults-max", "drift"] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} needs --locks`);
    }
  }
  const plantedBugs: PlantedBugs = {};
  for (const bug of values.bug ?? []) {
    if (locks) continue; // checked by the lock CLI against its own list
    if (!(PLANTED_BUG_NAMES as readonly string[]).includes(bug)) {
      throw new UsageError(`--bug must be one of ${PLANTED_BUG_NAMES.join(", ")}`);
    }
    plantedBugs[bug as PlantedBugName] = true;
  }
  let driftFactor: number | undefined;
  if (values.drift !== undefined) {
    driftFactor = Number(values.drift);
    if (!(driftFactor >= 0 && driftFactor < 0.5)) {
      throw new UsageError(`--drift must be a number in [0, 0.5), got "${values.drift}"`);
    }
  }
  let faultPhaseMsMin: number | undefined;
  let faultPhaseMsMax: number | undefined;
  if (values["phase-ms"] !== undefined) {
    const match = /^(\d+)-(\d+)$/.exec(values["phase-ms"]);
    if (!match || Number(match[1]) > Number(match[2]) || Number(match[1]) < 1) {
      throw new UsageError(`--phase-ms takes MIN-MAX in virtual ms, e.g. 1000-3000`);
    }
    faultPhaseMsMin = Number(match[1]);
    faultPhaseMsMax = Number(match[2]);
  }
  const joiner = values.joiner ?? "initial";
  if (joiner !== "initial" && joiner !== "empty") {
    throw new UsageError(`--joiner takes initial or empty, got "${joiner}"`);
  }
  const seed = values.seed === undefined ? null : Number(values.seed);
  if (seed !== null && !Number.isSafeInteger(seed))
    throw new UsageError(`--seed must be an integer`);
  if (values.path !== undefined && seed === null) throw new UsageError(`--path needs --seed`);
  const schedules = integer("schedules", values.schedules, 1);
  const durationMs = values.duration === undefined ? null : parseDurationMs(values.duration);
  if (schedules !== null && durationMs !== null) {
    throw new UsageError(`give --schedules or --duration, not both`);
  }
  return {
    locks,
    lockProfile: values["lock-profile"] ?? "default",
    clientFaultsMax: integer("client-faults-max", values["client-faults-max"], 0) ?? undefined,
    driftFactor,
    bugNames: values.bug ?? [],
    schedules,
    durationMs,
    seed,
    path: values.path ?? null,
    planFile: values.plan ?? null,
    nodeCounts,
    profile,
    plantedBugs,
    faultPhaseMsMin,
    faultPhaseMsMax,
    faultsMax: integer("faults-max", values["faults-max"], 0) ?? undefined,
    joinerBootstrap: joiner,
    json: values.json === true,
  };
}

const USAGE = `usage: pnpm sim [--schedules N | --duration 10m] [--seed S [--path P]] [--nodes 3|5|3,5]
                [--profile ${PLAN_PROFILES.join("|")}] [--bug NAME]... [--phase-ms MIN-MAX]
                [--faults-max N] [--joiner initial|empty] [--json]
       pnpm sim --plan .sim-failures/FILE.json      (replay a saved failing schedule)
       pnpm sim --locks [same flags] [--lock-profile default|contention|races|stale]
                [--client-faults-max N] [--drift 0.01]   (the lock simulator)
       pnpm sim --host-catch-up [--schedules N] [--seed S] [--bug compactWhileSendingSnapshot]
                (catch-up schedules through the production RaftHost)
Runs generated fault schedules through the Raft simulator; exits 1 on any violation.`;

/** Runs either simulator: the lock simulator with --locks (asynchronous), the Raft one otherwise. */
export async function cli(
  argv: string[],
  write: (line: string) => void = console.log,
): Promise<number> {
  if (argv.includes("--host-catch-up")) return hostCatchUpMain(argv, write);
  if (!argv.includes("--locks")) return main(argv, write);
  let options: SimCliOptions;
  try {
    options = parseSimArgs(argv);
  } catch (error) {
    write(error instanceof Error ? error.message : String(error));
    return 2;
  }
  return lockMain(options, write);
}

/** Runs the Raft simulator CLI; returns the process exit code. */
export function main(argv: string[], write: (line: string) => void = console.log): number {
  let options: SimCliOptions;
  try {
    options = parseSimArgs(argv);
  } catch (error) {
    write(error instanceof Error ? error.message : String(error));
    return 2;
  }
  if (options.locks) {
    write("--locks runs the lock simulator, which is asynchronous: call cli() instead of main()");
    return 2;
  }
  if (options.planFile !== null) return replayPlanFile(options.planFile, write);

  const started = Date.now();
  const summary = emptySummary();
  const generator = {
    nodeCounts: options.nodeCounts,
    profile: options.profile,
    plantedBugs: Object.keys(options.plantedBugs).length > 0 ? options.plantedBugs : undefined,
    faultPhaseMsMin: options.faultPhaseMsMin,
    faultPhaseMsMax: options.faultPhaseMsMax,
    faultsMax: options.faultsMax,
    joinerBootstrap: options.joinerBootstrap,
  };
  let lastProgress = started;
  let schedulesRun = 0;
  let entriesCommitted = 0;
  const onSchedule = (result: ScheduleResult): void => {
    schedulesRun++;
    entriesCommitted += result.committedIndex;
    const now = Date.now();
    if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
    lastProgress = now;
    const perMinute = (schedulesRun * 60_000) / Math.max(1, now - started);
    write(
      `[${((now - started) / 1000).toFixed(0)}s] ${schedulesRun} schedules, ` +
        `${entriesCommitted} entries committed, ${perMinute.toFixed(0)} schedules/min`,
    );
  };

  let failure: SimFailure | null = null;
  const firstSeed = options.seed ?? (started ^ (process.pid << 8)) & 0x7fffffff;
  if (options.path !== null || options.durationMs === null) {
    // One fast-check run: a replay of (seed, path), or N schedules from one seed.
    const result = checkSchedules({
      ...generator,
      numRuns: options.path !== null ? 1 : (options.schedules ?? DEFAULT_SCHEDULES),
      seed: firstSeed,
      path: options.path ?? undefined,
      onSchedule,
    });
    merge(summary, result.summary);
    failure = result.failure;
  } else {
    for (let batch = 0; Date.now() - started < options.durationMs && failure === null; batch++) {
      const result = checkSchedules({
        ...generator,
        numRuns: BATCH_SCHEDULES,
        seed: (firstSeed + batch) & 0x7fffffff,
        onSchedule,
      });
      merge(summary, result.summary);
      failure = result.failure;
    }
  }
  const elapsedMs = Date.now() - started;
  printSummary(summary, elapsedMs, firstSeed, options.json, write);
  if (failure !== null) {
    const file = saveFailure(failure);
    write(formatFailure(failure));
    write(`  plan saved to ${file}; replay it with: pnpm sim --plan ${file}`);
    return 1;
  }
  return 0;
}

function merge(into: SimSummary, from: SimSummary): void {
  into.schedules += from.schedules;
  for (const kind of Object.keys(from.faults) as (keyof SimSummary["faults"])[]) {
    into.faults[kind] += from.faults[kind];
  }
  into.elections += from.elections;
  into.entriesCommitted += from.entriesCommitted;
  into.proposalsAccepted += from.proposalsAccepted;
  into.readsServed += from.readsServed;
  into.snapshotsInstalled += from.snapshotsInstalled;
  into.compactions += from.compactions;
  into.crashes += from.crashes;
  into.crashesLosingWrites += from.crashesLosingWrites;
  into.tornWrites += from.tornWrites;
  into.messagesSent += from.messagesSent;
  into.messagesDropped += from.messagesDropped;
  into.messagesDuplicated += from.messagesDuplicated;
  into.virtualMs += from.virtualMs;
  into.events += from.events;
  into.recoveryMsMax = Math.max(into.recoveryMsMax, from.recoveryMsMax);
  for (const [n, count] of Object.entries(from.byNodeCount)) {
    into.byNodeCount[Number(n)] = (into.byNodeCount[Number(n)] ?? 0) + count;
  }
}

function printSummary(
  summary: SimSummary,
  elapsedMs: number,
  seed: number,
  json: boolean,
  write: (line: string) => void,
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

function saveFailure(failure: SimFailure): string {
  mkdirSync(FAILURE_DIR, { recursive: true });
  const file = join(FAILURE_DIR, `seed-${failure.seed}-${failure.property}.json`);
  writeFileSync(file, JSON.stringify(failure, null, 2) + "\n");
  return file;
}

function replayPlanFile(file: string, write: (line: string) => void): number {
  let plan: SchedulePlan;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as { plan?: unknown };
    plan = validatePlan(parsed.plan);
  } catch (error) {
    write(`cannot read plan ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const result = runSchedule(plan);
  const summary = emptySummary();
  addToSummary(summary, result);
  printSummary(summary, 1, plan.seed, false, write);
  write(`trace hash:         ${result.traceHash}`);
  if (result.violation) {
    write(
      `VIOLATION ${result.violation.message} (at ${result.violation.timeMs?.toFixed(1)} virtual ms)`,
    );
    return 1;
  }
  write("no violation");
  return 0;
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (invokedDirectly) {
  void cli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
