// `dlock semaphore <key> --permits N -- <command...>`: runs a command while holding permits of a
// counting semaphore (as `consul lock -n N` does): at most N permits are held at once across
// every holder; the permits are refreshed while the command runs and released when it exits.
import type { Command } from "commander";
import { namedAction } from "../client-command.js";
import { examplesHelp } from "../help.js";
import { addSemaphoreOptions, semaphoreCountsFromFlags } from "../lock-flags.js";
import type { SemaphoreFlags } from "../lock-flags.js";
import {
  HOLDER_VALUE_HELP,
  addRunCommandOptions,
  runLockCommand,
  sharedRunExitsHelp,
} from "./lock.js";
import type { LockCommandFlags } from "./lock.js";

export function registerSemaphoreCommand(program: Command): void {
  const command = program
    .command("semaphore")
    .description(
      "run a command while holding permits of a counting semaphore (at most N at once across all holders): refreshed while it runs, released when it exits; stopped if they are lost",
    )
    .argument("<key>", "the semaphore's name")
    .argument("[command...]", "the command and its arguments, after --");
  addSemaphoreOptions(command, { required: true });
  addRunCommandOptions(command, {
    valueHelp: HOLDER_VALUE_HELP,
    lostWhat: "the permits are",
  });
  command
    .addHelpText(
      "after",
      `
Like dlock lock, for a semaphore: the command gets DLOCK_FENCING_TOKEN (holders granted in the
same step share it), DLOCK_LOCK_KEY, DLOCK_LOCK_VALUE, DLOCK_PERMITS and DLOCK_PERMIT_COUNT.
Waiters (--wait) are served first come, first served: one that needs more permits than are free
holds back those behind it. Every user of a key must give the same --permits while it is in use.
` +
        sharedRunExitsHelp() +
        examplesHelp([
          "dlock semaphore encoders --permits 4 --wait 10m -- ./encode.sh video.mp4",
          "dlock semaphore db-migrations --permits 10 --count 5 -- ./heavy-job.sh",
        ]),
    )
    .action(
      namedAction(
        "dlock semaphore",
        async (key: string, argv: string[], flags: LockCommandFlags & SemaphoreFlags) => {
          const counts = semaphoreCountsFromFlags(flags)!;
          process.exitCode = await runLockCommand(key, argv, flags, counts);
        },
      ),
    );
}
