// The `dlock` command line: one commander program, one file per command under commands/.
import { Command, CommanderError } from "commander";
import { registerAcquireCommand } from "./commands/acquire.js";
import { registerAuthCommand } from "./commands/auth.js";
import { registerCertsCommand } from "./commands/certs.js";
import { registerGetCommand } from "./commands/get.js";
import { registerListCommand } from "./commands/list.js";
import { registerWatchCommand } from "./commands/watch.js";
import { registerElectCommand } from "./commands/elect.js";
import { registerLockCommand } from "./commands/lock.js";
import { registerMemberCommand } from "./commands/member.js";
import { registerReleaseCommand } from "./commands/release.js";
import { registerSemaphoreCommand } from "./commands/semaphore.js";
import { registerRwlockCommand } from "./commands/rwlock.js";
import { registerServerCommand } from "./commands/server.js";
import { registerSnapshotCommand } from "./commands/snapshot.js";
import { registerStatusCommand } from "./commands/status.js";
import { CliExit, EXIT } from "./exit-codes.js";

export const CLI_VERSION = "0.1.0";

export function createProgram(): Command {
  const program = new Command("dlock")
    .description("dlock: a distributed lock cluster (Raft + LevelDB, TTL leases, fencing tokens)")
    .version(CLI_VERSION)
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerServerCommand(program);
  registerLockCommand(program);
  registerSemaphoreCommand(program);
  registerRwlockCommand(program);
  registerAcquireCommand(program);
  registerReleaseCommand(program);
  registerGetCommand(program);
  registerListCommand(program);
  registerWatchCommand(program);
  registerElectCommand(program);
  registerStatusCommand(program);
  registerMemberCommand(program);
  registerAuthCommand(program);
  registerCertsCommand(program);
  registerSnapshotCommand(program);
  return program;
}

/** Runs the CLI with `argv` (as process.argv) and returns the exit code; never throws. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === "number" ? process.exitCode : EXIT.OK;
  } catch (error) {
    if (error instanceof CliExit) {
      if (error.message !== "") process.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    process.stderr.write(`dlock: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.ERROR;
  }
}
