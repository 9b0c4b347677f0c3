// The one schedule runner both simulators use: fast-check generates plans from a seed, each plan
// runs through the simulator and its checkers, the first violation is shrunk (within a budget)
// and reported with the command that replays it. The Raft side (sim-check.ts) and the lock side
// (lock/lock-check.ts) provide only what differs: the plan generator, how one plan runs, and
// what a summary counts.
import fc from "fast-check";
import type { SafetyViolation } from "./checkers/violation.js";

/** What any simulator's run of one plan reports to the runner. */
export interface ScheduleOutcome<Plan> {
  plan: Plan;
  violation: SafetyViolation | null;
}

/** What one simulator provides: everything else (search, shrinking, replay) is the runner's. */
export interface ScheduleSimulator<Plan, Result extends ScheduleOutcome<Plan>, Summary, Generator> {
  /** The `pnpm sim` subcommand that runs this simulator (in replay commands). */
  readonly command: string;
  /** Schedules shrinking may run before it reports the smallest failure found so far. */
  readonly shrinkRunsMax: number;
  arbitrary(generator: Generator): fc.Arbitrary<Plan>;
  run(plan: Plan): Result | Promise<Result>;
  emptySummary(): Summary;
  addToSummary(summary: Summary, result: Result): void;
  /** The generator flags (after --seed and --path) that rebuild the same generator. */
  generatorFlags(generator: Generator): string[];
}

export interface CheckOptions<Result> {
  numRuns: number;
  /** fast-check seed of the batch (default: drawn by fast-check and reported). */
  seed?: number;
  /** fast-check path: replays exactly the (shrunk) schedule a failure reported. */
  path?: string;
  /** Shrink a failure to a smaller schedule (default true); false reports the first one found. */
  shrink?: boolean;
  /** Called after every schedule of the search (not of shrinking). */
  onSchedule?: (result: Result) => void;
  /** Called once when the first violation is found, before shrinking starts. */
  onViolationFound?: (result: Result) => void;
  /** Overrides the simulator's shrinking budget (schedules run while shrinking). */
  shrinkRunsMax?: number;
}

export interface ScheduleFailure<Plan> {
  seed: number;
  path: string;
  /** The (shrunk) schedule. */
  plan: Plan;
  violation: string;
  property: string;
  /** One line that replays this failure exactly. */
  replayCommand: string;
}

export interface CheckResult<Plan, Summary> {
  summary: Summary;
  seed: number;
  failure: ScheduleFailure<Plan> | null;
}

/**
 * Generates `numRuns` schedules from one seed, runs each through every checker and, on the first
 * violation, shrinks it to a smaller schedule that still fails.
 */
export async function checkSchedulesWith<
  Plan,
  Result extends ScheduleOutcome<Plan>,
  Summary,
  Generator,
>(
  simulator: ScheduleSimulator<Plan, Result, Summary, Generator>,
  generator: Generator,
  options: CheckOptions<Result>,
): Promise<CheckResult<Plan, Summary>> {
  const summary = simulator.emptySummary();
  let failed = false;
  let shrinkRuns = 0;
  const shrinkRunsMax = options.shrinkRunsMax ?? simulator.shrinkRunsMax;
  const property = fc.asyncProperty(simulator.arbitrary(generator), async (plan) => {
    // Over the shrinking budget, every further candidate "passes": fast-check then stops with
    // the smallest failing schedule it has (runs are counted, so this stays deterministic).
    if (failed && ++shrinkRuns > shrinkRunsMax) return;
    const result = await simulator.run(plan);
    if (!failed) {
      simulator.addToSummary(summary, result);
      options.onSchedule?.(result);
    }
    if (result.violation) {
      if (!failed) options.onViolationFound?.(result);
      failed = true;
      throw result.violation;
    }
  });
  const parameters: fc.Parameters<[Plan]> = {
    numRuns: options.numRuns,
    // A replay of (seed, path) reports exactly the schedule at that path.
    endOnFailure: options.shrink === false || options.path !== undefined,
  };
  if (options.seed !== undefined) parameters.seed = options.seed;
  if (options.path !== undefined) parameters.path = options.path;
  const details = await fc.check(property, parameters);
  if (!details.failed || details.counterexample === null) {
    return { summary, seed: details.seed, failure: null };
  }
  const plan = details.counterexample[0];
  const rerun = await simulator.run(plan);
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
      replayCommand: replayCommandOf(simulator, generator, details.seed, path),
    },
  };
}

/** The `pnpm sim` command line that replays (seed, path) with the same generator. */
export function replayCommandOf<Generator>(
  simulator: Pick<
    ScheduleSimulator<unknown, never, unknown, Generator>,
    "command" | "generatorFlags"
  >,
  generator: Generator,
  seed: number,
  path: string,
): string {
  const flags = simulator.generatorFlags(generator);
  return [`pnpm sim ${simulator.command}`, `--seed=${seed}`, `--path=${path}`, ...flags].join(" ");
}

/** The generator options both simulators share. */
export interface CommonGeneratorOptions {
  nodeCounts?: readonly number[];
  profile?: string;
  faultPhaseMsMin?: number;
  faultPhaseMsMax?: number;
  faultsMax?: number;
}

/**
 * The shared generator options as the flags of a replay command (defaults left out); a simulator
 * appends its own. `phaseMsDefaults` fills in the bound of --phase-ms that was not given.
 */
export function commonGeneratorFlags(
  options: CommonGeneratorOptions,
  bugNames: readonly string[],
  phaseMsDefaults: readonly [min: number, max: number],
): string[] {
  const flags: string[] = [];
  const nodes = (options.nodeCounts ?? [3, 5]).join(",");
  if (nodes !== "3,5") flags.push(`--nodes=${nodes}`);
  if (options.profile !== undefined && options.profile !== "default") {
    flags.push(`--profile=${options.profile}`);
  }
  for (const bug of bugNames) flags.push(`--bug=${bug}`);
  if (options.faultPhaseMsMin !== undefined || options.faultPhaseMsMax !== undefined) {
    const min = options.faultPhaseMsMin ?? phaseMsDefaults[0];
    const max = options.faultPhaseMsMax ?? phaseMsDefaults[1];
    flags.push(`--phase-ms=${min}-${max}`);
  }
  if (options.faultsMax !== undefined) flags.push(`--faults-max=${options.faultsMax}`);
  return flags;
}

/** Human-readable report of a failure. */
export function formatScheduleFailure(failure: ScheduleFailure<unknown>): string {
  return [
    `VIOLATION ${failure.violation}`,
    `  fast-check seed ${failure.seed}, path ${failure.path}`,
    `  replay: ${failure.replayCommand}`,
  ].join("\n");
}
