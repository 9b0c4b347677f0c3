// Flags both `pnpm sim raft` and `pnpm sim lock` take (search, replay, generator), their
// environment variables and their checks, in one place.
import type { Command } from "commander";
import { Option } from "commander";
import type { PlanProfile } from "./plan-arbitrary.js";
import { PLAN_PROFILES } from "./plan-arbitrary.js";
import type { SearchOptions } from "./schedule-search.js";

export class UsageError extends Error {
  readonly code = "USAGE";
}

/** The flags common to both simulators, parsed and checked. */
export interface CommonSimOptions extends SearchOptions {
  /** A saved plan file to replay instead of searching. */
  planFile: string | null;
  nodeCounts: number[];
  profile: PlanProfile;
  /** The --bug names as given (each simulator checks them against its own list). */
  bugNames: string[];
  faultPhaseMsMin: number | undefined;
  faultPhaseMsMax: number | undefined;
  faultsMax: number | undefined;
}

/** Raw flag values as commander hands them over. */
export type Flags = Record<string, string | string[] | boolean | undefined>;

/** Parses `--duration` values such as 90s, 10m, 1h or plain milliseconds. */
export function parseDurationMs(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`bad duration "${text}" (use e.g. 500ms, 90s, 10m, 1h)`);
  const unit = match[2] ?? "ms";
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] as number;
  return Math.round(Number(match[1]) * factor);
}

/** An option with its environment variable, DLOCK_SIM_<FLAG>. */
export function simOption(flags: string, description: string): Option {
  const name = /--([a-z-]+)/.exec(flags)?.[1];
  if (name === undefined) throw new RangeError(`simOption("${flags}"): give it a --long flag`);
  return new Option(flags, description).env(`DLOCK_SIM_${name.toUpperCase().replace(/-/g, "_")}`);
}

/** Repeatable flags collect every value; one value may also list several, comma-separated. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(",").filter((part) => part !== "")];
}

/** What a simulator subcommand is: its name, its help, and how it runs once its flags are read. */
export interface SimulatorCommandSpec {
  name: string;
  description: string;
  /** The subcommand `pnpm sim` runs without one. */
  isDefault?: boolean;
  defaultSchedules: number;
  /** Planted bugs --bug takes (listed in the help). */
  bugNames: readonly string[];
  /** Adds the subcommand's own flags after the common ones. */
  options?: Option[];
  run: (flags: Flags) => Promise<number>;
}

/** Adds a simulator subcommand with the common flags and its own; `done` gets the exit code. */
export function addSimulatorCommand(
  program: Command,
  spec: SimulatorCommandSpec,
  done: (code: number) => void,
): void {
  const command = program
    .command(spec.name, { isDefault: spec.isDefault === true })
    .description(spec.description);
  addCommonOptions(command, spec.defaultSchedules);
  for (const option of spec.options ?? []) command.addOption(option);
  command.addHelpText(
    "after",
    `\nPlanted bugs (--bug): ${spec.bugNames.join(", ")}\n` +
      "Exit codes: 0 no violation, 1 a violation (plan saved under .sim-failures/), 2 bad usage.",
  );
  command.action(async (flags: Flags) => {
    done(await spec.run(flags));
  });
}

function addCommonOptions(command: Command, defaultSchedules: number): Command {
  return command
    .addOption(simOption("--schedules <n>", `schedules to run (default ${defaultSchedules})`))
    .addOption(simOption("--duration <d>", "run for a duration instead, e.g. 90s, 10m, 1h"))
    .addOption(simOption("--seed <s>", "first fast-check seed (printed; random if absent)"))
    .addOption(simOption("--path <p>", "with --seed: replay the schedule at this fast-check path"))
    .addOption(simOption("--plan <file>", "replay a saved failing plan (see also: sim replay)"))
    .addOption(simOption("--nodes <list>", "cluster sizes: 3, 5 or 3,5").default("3,5"))
    .addOption(
      simOption("--profile <name>", `fault profile: ${PLAN_PROFILES.join(" | ")}`).default(
        "default",
      ),
    )
    .addOption(simOption("--bug <name>", "switch a planted bug on (repeatable)").argParser(collect))
    .addOption(
      simOption("--phase-ms <min-max>", "fault phase length in virtual ms, e.g. 1000-3000"),
    )
    .addOption(simOption("--faults-max <n>", "at most this many node faults per schedule"))
    .addOption(simOption("--json", "print the summary as one JSON object"));
}

/** A flag's integer value (null when absent). */
export function integerFlag(name: string, value: unknown, min: number): number | null {
  if (value === undefined) return null;
  const number = Number(value);
  if (typeof value !== "string" || !Number.isSafeInteger(number) || number < min) {
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${String(value)}"`);
  }
  return number;
}

export function commonOptionsOf(flags: Flags): CommonSimOptions {
  const nodesText = String(flags.nodes);
  const nodeCounts = nodesText.split(",").map((part) => Number(part));
  if (nodeCounts.some((n) => n !== 3 && n !== 5)) {
    throw new UsageError(`--nodes takes 3, 5 or 3,5; got "${nodesText}"`);
  }
  const profile = String(flags.profile) as PlanProfile;
  if (!PLAN_PROFILES.includes(profile)) {
    throw new UsageError(`--profile must be one of ${PLAN_PROFILES.join(", ")}`);
  }
  let faultPhaseMsMin: number | undefined;
  let faultPhaseMsMax: number | undefined;
  if (flags.phaseMs !== undefined) {
    const match = /^(\d+)-(\d+)$/.exec(String(flags.phaseMs));
    if (!match || Number(match[1]) > Number(match[2]) || Number(match[1]) < 1) {
      throw new UsageError(`--phase-ms takes MIN-MAX in virtual ms, e.g. 1000-3000`);
    }
    faultPhaseMsMin = Number(match[1]);
    faultPhaseMsMax = Number(match[2]);
  }
  const seed = flags.seed === undefined ? null : Number(flags.seed);
  if (seed !== null && !Number.isSafeInteger(seed)) {
    throw new UsageError(`--seed must be an integer, got "${String(flags.seed)}"`);
  }
  if (flags.path !== undefined && seed === null) throw new UsageError(`--path needs --seed`);
  const schedules = integerFlag("schedules", flags.schedules, 1);
  const durationMs = flags.duration === undefined ? null : parseDurationMs(String(flags.duration));
  if (schedules !== null && durationMs !== null) {
    throw new UsageError(`give --schedules or --duration, not both`);
  }
  return {
    schedules,
    durationMs,
    seed,
    path: flags.path === undefined ? null : String(flags.path),
    json: flags.json === true || flags.json === "true" || flags.json === "1",
    planFile: flags.plan === undefined ? null : String(flags.plan),
    nodeCounts,
    profile,
    bugNames: (flags.bug as string[] | undefined) ?? [],
    faultPhaseMsMin,
    faultPhaseMsMax,
    faultsMax: integerFlag("faults-max", flags.faultsMax, 0) ?? undefined,
  };
}
