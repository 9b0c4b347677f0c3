// `dlock rwlock <key> --read|--write -- <command...>`: runs a command while holding a
// reader-writer lock: readers share the key, a writer holds it alone; refreshed while the
// command runs and released when it exits.
import type { Command } from "commander";
import { namedAction } from "../client-command.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp } from "../help.js";
import {
  HOLDER_VALUE_HELP,
  addRunCommandOptions,
  runLockCommand,
  sharedRunExitsHelp,
} from "./lock.js";
import type { LockCommandFlags } from "./lock.js";
import { addRwOptions, rwModeFromFlags } from "../lock-flags.js";
import type { RwFlags } from "../lock-flags.js";

export function registerRwlockCommand(program: Command): void {
  const command = program
    .command("rwlock")
    .description(
      "run a command while holding a reader-writer lock (readers share it, a writer holds it alone): refreshed while it runs, released when it exits; stopped if it is lost",
    )
    .argument("<key>", "the reader-writer lock's name")
    .argument("[command...]", "the command and its arguments, after --");
  addRwOptions(command);
  addRunCommandOptions(command, { valueHelp: HOLDER_VALUE_HELP, lostWhat: "the lock is" });
  command
    .addHelpText(
      "after",
      `
Like dlock lock, for a reader-writer key: give exactly one of --read and --write. The command
gets DLOCK_FENCING_TOKEN (greater than every earlier grant's on the key; readers granted together
share it), DLOCK_LOCK_KEY, DLOCK_LOCK_VALUE and DLOCK_RW_MODE (read or write). Waiters (--wait)
are served first come, first served: a waiting writer holds back the readers behind it, so
writers are never starved; readers queued together are granted together.
` +
        sharedRunExitsHelp() +
        examplesHelp([
          "dlock rwlock catalog --read --wait 1m -- ./export-report.sh",
          "dlock rwlock catalog --write --wait 10m -- ./reindex.sh",
        ]),
    )
    .action(
      namedAction(
        "dlock rwlock",
        async (key: string, argv: string[], flags: LockCommandFlags & RwFlags) => {
          const mode = rwModeFromFlags(flags) ?? usage();
          process.exitCode = await runLockCommand(key, argv, flags, { mode });
        },
      ),
    );
}

function usage(): never {
  throw new CliExit(EXIT.USAGE, "dlock rwlock: give --read or --write");
}
