#!/usr/bin/env node
// `pnpm test:chaos [--duration 2m] [--seed N] [--json]`: a chaos run against real processes.
// `--recheck FILE`: no run; the linearizability check of a saved `*.wire.json` history.
import { Command, Option } from "commander";
import { parseDuration } from "@dlock/client";
import { STEP_BUDGET_PER_KEY } from "./linearizability-check.js";
import { ChaosInputError, formatRecheck, recheckWireFile } from "./recheck.js";
import { runChaos } from "./run-chaos.js";
import { formatSummary } from "./summary-format.js";
import { DEFAULT_CHAOS_CLIENTS } from "./workload.js";

const program = new Command("dlock-chaos")
  .description(
    "fault injection against three real dlock servers: proxies on every link, kills, pauses; then checks the history",
  )
  .addHelpText(
    "after",
    "\nExit codes: 0 no violation, 1 a violation (timeline saved under .chaos-runs/), 2 no violation\nfound but the linearizability search ran out of steps on some key (timeline saved), 3 a flag or\n--recheck file that cannot be used.",
  )
  .addOption(new Option("--duration <d>", "how long faults are injected").default("2m"))
  .addOption(
    new Option("--seed <n>", "seed of the fault schedule and the workload (random if absent)"),
  )
  .addOption(new Option("--nodes <n>", "cluster size").default("3"))
  .addOption(
    new Option("--clients <n>", "concurrent clients, split over the client kinds").default(
      String(DEFAULT_CHAOS_CLIENTS),
    ),
  )
  .addOption(new Option("--keys <n>", "keys the clients contend for").default("4"))
  .option("--json", "print the summary as JSON")
  .addOption(
    new Option(
      "--recheck <file>",
      "do not run: check the linearizability of a saved history (*.wire.json) again",
    ).env("DLOCK_CHAOS_RECHECK"),
  )
  .addOption(
    new Option("--step-budget <n>", "search steps per key before a key counts as undecided")
      .default(String(STEP_BUDGET_PER_KEY))
      .env("DLOCK_CHAOS_STEP_BUDGET"),
  )
  .action(async (flags: Record<string, string | boolean | undefined>) => {
    const stepBudget = Number(flags.stepBudget);
    if (!Number.isSafeInteger(stepBudget) || stepBudget <= 0) {
      throw new ChaosInputError(
        `--step-budget must be a positive integer, got ${String(flags.stepBudget)}`,
      );
    }
    if (typeof flags.recheck === "string") {
      const result = await recheckWireFile(flags.recheck, stepBudget);
      process.stdout.write(
        flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatRecheck(flags.recheck, result),
      );
      process.exitCode = result.violations.length > 0 ? 1 : result.undecidedKeys.length > 0 ? 2 : 0;
      return;
    }
    const seed =
      flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(flags.seed);
    const durationMs = parseDuration(String(flags.duration), "--duration");
    process.stderr.write(`chaos run: seed ${seed}, ${durationMs / 1000}s of faults\n`);
    const summary = await runChaos({
      durationMs,
      seed,
      nodes: Number(flags.nodes),
      clients: Number(flags.clients),
      keys: Number(flags.keys),
      stepBudget,
      progress: (line) => process.stderr.write(`  ${line}\n`),
    });
    process.stdout.write(
      flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary),
    );
    // 1: a violation; 2: no violation found, but some key could not be checked in full.
    process.exitCode = summary.violations > 0 ? 1 : summary.undecidedKeys.length > 0 ? 2 : 0;
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`dlock-chaos: ${String(error)}\n`);
  process.exitCode = error instanceof ChaosInputError ? 3 : 1;
});
