// `dlock rwlock <key> --read|--write -- <command...>`: runs a command while holding a
// reader-writer lock: readers share the key, a writer holds it alone; refreshed while the
// command runs and released when it exits.
import type { Command } from "commander";
import { addClientOptions } from "../client-flags.js";
import { namedAction } from "../client-command.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp, exitCodesHelp, LOCKED_RUN_EXITS } from "../help.js";
import { addLockOptions, addRwOptions, rwModeFromFlags } from "../lock-flags.js";
import type { RwFlags } from "../lock-flags.js";
import { lockedRunCommand, runLockCommand } from "./lock.js";
import type { LockCommandFlags } from "./lock.js";

export function registerRwlockCommand(program: Command): void {
  const command = lockedRunCommand(program, {
    name: "rwlock",
    description:
      "run a command while holding a reader-writer lock (readers share it, a writer holds it alone): refreshed while it runs, released when it exits; stopped if it is lost",
    keyHelp: "the reader-writer lock's name",
    held: "the lock",
    valueHelp: "the holder's value; must be unique per holder (default host:pid:random)",
  });
  addRwOptions(command);
  addLockOptions(command, { refresh: true });
  addClientOptions(command, { json: false });
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
        exitCodesHelp(LOCKED_RUN_EXITS, [
          "otherwise the command's exit status (128+N if signal N ended it)",
        ]) +
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
