// The command-line side of the schedule runner, for either simulator: a search for a number of
// schedules or for a duration (in batches, each from its own seed), progress lines, the summary,
// saving a failure as a plan file, and replaying a saved plan file.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScheduleOutcome, ScheduleSimulator, ScheduleFailure } from "./schedule-runner.js";
import { checkSchedulesWith, formatScheduleFailure } from "./schedule-runner.js";

const PROGRESS_INTERVAL_MS = 5_000;
/** Where failing plans are saved (relative to the working directory). */
export const FAILURE_DIR = ".sim-failures";

export type Write = (line: string) => void;

/** What every run of one plan reports, whatever the simulator. */
type CliOutcome<Plan> = ScheduleOutcome<Plan> & { traceHash: number };

/** What the command line needs from a simulator beyond what the runner needs. */
export interface SimulatorCli<
  Plan,
  Result extends CliOutcome<Plan>,
  Summary extends SummaryTotals,
  Generator,
> extends ScheduleSimulator<Plan, Result, Summary, Generator> {
  /** What a schedule is called in progress lines ("schedules", "lock schedules"). */
  readonly noun: string;
  /** Schedules per fast-check batch in --duration mode. */
  readonly batchSchedules: number;
  /** Schedules of a run without --schedules or --duration. */
  readonly defaultSchedules: number;
  /** Prefix of saved failure files (tells the two kinds apart in FAILURE_DIR). */
  readonly failureFilePrefix: string;
  /** One running figure for progress lines, e.g. [entries committed, result => count]. */
  readonly progressFigure: [label: string, of: (result: Result) => number];
  mergeSummaries(into: Summary, from: Summary): void;
  validatePlan(raw: unknown): Plan;
  seedOf(plan: Plan): number;
  /** The summary as text lines (the runner adds the throughput line). */
  summaryLines(summary: Summary, seed: number): string[];
  /** Figures the JSON summary adds after the summary's own (e.g. events never seen). */
  summaryJsonExtras?(summary: Summary): object;
}

/** What every summary counts, whatever the simulator. */
export interface SummaryTotals {
  schedules: number;
  virtualMs: number;
}

export interface SearchOptions {
  schedules: number | null;
  durationMs: number | null;
  /** First fast-check seed (drawn from the time and pid when null, and printed). */
  seed: number | null;
  /** fast-check path (with seed): replays exactly the schedule a failure reported. */
  path: string | null;
  json: boolean;
}

/** Runs one simulator from the command line: a search, or the replay of a saved plan. */
export class ScheduleSearch<
  Plan,
  Result extends CliOutcome<Plan>,
  Summary extends SummaryTotals,
  Generator,
> {
  constructor(
    private readonly cli: SimulatorCli<Plan, Result, Summary, Generator>,
    private readonly write: Write,
  ) {}

  /** Searches schedules as the options say, prints the summary; returns the exit code (0 or 1). */
  async search(generator: Generator, options: SearchOptions): Promise<number> {
    const { cli, write } = this;
    const started = Date.now();
    let lastProgress = started;
    let schedulesRun = 0;
    let figure = 0;
    const [figureLabel, figureOf] = cli.progressFigure;
    const onSchedule = (result: Result): void => {
      schedulesRun++;
      figure += figureOf(result);
      const now = Date.now();
      if (now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      const perMinute = (schedulesRun * 60_000) / Math.max(1, now - started);
      write(
        `[${((now - started) / 1000).toFixed(0)}s] ${schedulesRun} ${cli.noun}, ` +
          `${figure} ${figureLabel}, ${perMinute.toFixed(0)} schedules/min`,
      );
    };
    const onViolationFound = (result: Result): void => {
      write(
        `violation found after ${schedulesRun} schedules: ` +
          `${result.violation?.message.split("\n")[0] ?? ""}`,
      );
      write("shrinking it (each step re-runs a schedule; up to a few minutes)...");
    };
    const summary = cli.emptySummary();
    let failure: ScheduleFailure<Plan> | null = null;
    const firstSeed = options.seed ?? (started ^ (process.pid << 8)) & 0x7fffffff;
    const batch = async (
      numRuns: number,
      seed: number,
      path?: string,
    ): Promise<ScheduleFailure<Plan> | null> => {
      const result = await checkSchedulesWith(cli, generator, {
        numRuns,
        seed,
        path,
        onSchedule,
        onViolationFound,
      });
      cli.mergeSummaries(summary, result.summary);
      return result.failure;
    };
    // The simulated services answer with errors by the thousand (busy, not the leader, dropped);
    // the search reads their codes and messages, never a stack, and capturing one costs more than
    // the rest of the error. A replay (or a test) keeps the stacks.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      if (options.path !== null) {
        failure = await batch(1, firstSeed, options.path);
      } else if (options.durationMs === null) {
        failure = await batch(options.schedules ?? cli.defaultSchedules, firstSeed);
      } else {
        for (let i = 0; Date.now() - started < options.durationMs && failure === null; i++) {
          failure = await batch(cli.batchSchedules, (firstSeed + i) & 0x7fffffff);
        }
      }
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.printSummary(summary, Date.now() - started, firstSeed, options.json);
    if (failure === null) return 0;
    const file = saveFailure(cli.failureFilePrefix, failure);
    write(formatScheduleFailure(failure));
    write(`  plan saved to ${file}; replay it with: pnpm sim replay ${file}`);
    return 1;
  }

  /** Runs one saved plan and prints what it did; returns the exit code (0, 1 violation, 2 bad file). */
  async replay(file: string): Promise<number> {
    const { cli, write } = this;
    let plan: Plan;
    try {
      plan = cli.validatePlan(readPlanFile(file));
    } catch (error) {
      write(`cannot read plan ${file}: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
    const result = await cli.run(plan);
    const summary = cli.emptySummary();
    cli.addToSummary(summary, result);
    this.printSummary(summary, 1, cli.seedOf(plan), false);
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

  private printSummary(summary: Summary, elapsedMs: number, seed: number, json: boolean): void {
    const perMinute = (summary.schedules * 60_000) / Math.max(1, elapsedMs);
    if (json) {
      const extras = this.cli.summaryJsonExtras?.(summary) ?? {};
      const run = { seed, elapsedMs, schedulesPerMinute: perMinute };
      this.write(JSON.stringify({ ...summary, ...run, ...extras }));
      return;
    }
    for (const line of this.cli.summaryLines(summary, seed)) this.write(line);
    this.write(
      `throughput:         ${perMinute.toFixed(0)} schedules/minute ` +
        `(${(elapsedMs / 1000).toFixed(1)} s wall, ${(summary.virtualMs / 1000).toFixed(0)} s virtual)`,
    );
  }
}

function saveFailure(prefix: string, failure: ScheduleFailure<unknown>): string {
  mkdirSync(FAILURE_DIR, { recursive: true });
  const file = join(FAILURE_DIR, `${prefix}seed-${failure.seed}-${failure.property}.json`);
  writeFileSync(file, JSON.stringify(failure, null, 2) + "\n");
  return file;
}

/** The `plan` field of a saved failure file, not yet validated. */
export function readPlanFile(file: string): unknown {
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { plan?: unknown };
  return parsed.plan;
}
