#!/usr/bin/env node
// `pnpm sim`: the deterministic simulators from the command line, one subcommand each.
//   pnpm sim raft [flags]     the Raft simulator (the default: `pnpm sim [flags]`)
//   pnpm sim lock [flags]     the lock simulator (also the older `pnpm sim --locks [flags]`)
//   pnpm sim replay FILE      replay a saved failing plan of either simulator
//   pnpm sim host-catch-up    catch-up schedules through the production RaftHost (also the
//                             form `pnpm sim --host-catch-up [flags]`; see lock/host-cli.ts)
import { CommanderError, Command } from "commander";
import { hostCatchUpMain } from "./lock/host-cli.js";
import { addLockCommand, LOCK_ONLY_FLAGS, lockCli } from "./lock/lock-cli.js";
import { addRaftCommand, raftCli } from "./raft-cli.js";
import type { Write } from "./schedule-search.js";
import { readPlanFile, ScheduleSearch } from "./schedule-search.js";
import { UsageError } from "./sim-cli-options.js";

export { parseDurationMs, UsageError } from "./sim-cli-options.js";

const SUBCOMMANDS = new Set(["raft", "lock", "replay", "help"]);

/**
 * The argument list with its subcommand first. The forms of earlier releases keep working:
 * `--locks` means `lock`, and no subcommand means `raft`.
 */
export function withSubcommand(argv: readonly string[]): string[] {
  const first = argv[0];
  if (first === undefined || SUBCOMMANDS.has(first)) return [...argv];
  if (first === "--help" || first === "-h") return [...argv];
  if (argv.includes("--locks")) return ["lock", ...argv.filter((arg) => arg !== "--locks")];
  for (const flag of LOCK_ONLY_FLAGS) {
    if (argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`))) {
      throw new UsageError(`${flag} is a lock simulator flag: run pnpm sim lock ${flag} ...`);
    }
  }
  return ["raft", ...argv];
}

/** Runs `pnpm sim` with these arguments; returns the process exit code. */
export async function cli(argv: readonly string[], write: Write = console.log): Promise<number> {
  if (argv[0] === "host-catch-up") return hostCatchUpMain(argv.slice(1), write);
  if (argv.includes("--host-catch-up")) return hostCatchUpMain([...argv], write);
  let code = 0;
  let args: string[];
  try {
    args = withSubcommand(argv);
  } catch (error) {
    write(error instanceof Error ? error.message : String(error));
    return 2;
  }
  const done = (exitCode: number): void => {
    code = exitCode;
  };
  const program = new Command("pnpm sim")
    .description("deterministic simulation of dlock: generated fault schedules, every checker")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => write(text.replace(/\n$/, "")),
      writeErr: (text) => write(text.replace(/\n$/, "")),
    })
    .addHelpText(
      "after",
      "\nThe forms `pnpm sim [flags]` (raft), `pnpm sim --locks [flags]` (lock) and\n" +
        "`pnpm sim --plan FILE` still work. `pnpm sim host-catch-up [--schedules N] [--seed S]\n" +
        "[--bug compactWhileSendingSnapshot]` runs the production RaftHost's catch-up schedules.\n" +
        "Exit codes: 0 no violation, 1 a violation, 2 bad usage.",
    );
  addRaftCommand(program, write, done);
  addLockCommand(program, write, done);
  program
    .command("replay")
    .description("replay a saved failing plan (.sim-failures/*.json) of either simulator")
    .argument("<file>", "the saved plan")
    .action(async (file: string) => {
      done(await replayFile(file, write));
    });
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" || error.code === "commander.help" ? 0 : 2;
    }
    if (error instanceof UsageError) {
      write(error.message);
      return 2;
    }
    throw error;
  }
  return code;
}

/** Replays a saved plan with the simulator its shape names (a lock plan has a `raft` part). */
async function replayFile(file: string, write: Write): Promise<number> {
  let plan: unknown;
  try {
    plan = readPlanFile(file);
  } catch (error) {
    write(`cannot read plan ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const isLockPlan = typeof plan === "object" && plan !== null && "raft" in plan;
  return isLockPlan
    ? new ScheduleSearch(lockCli, write).replay(file)
    : new ScheduleSearch(raftCli, write).replay(file);
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (invokedDirectly) {
  void cli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
