// `dlock elect <name> <value> -- <command...>`: campaigns in an election and runs a command while
// leader (as `etcdctl elect` does). The leadership is the lock `election/<name>`, queued FIFO, so
// this is `dlock lock election/<name> --value <value> --wait <wait>` with the election's name.
import type { Command } from "commander";
import { electionKey } from "@dlock/client";
import { addClientOptions } from "../client-flags.js";
import { namedAction } from "../client-command.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp, exitCodesHelp, LOCKED_RUN_EXITS } from "../help.js";
import { addLockOptions } from "../lock-flags.js";
import type { LockFlags } from "../lock-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { runLockCommand } from "./lock.js";

/** How long `dlock elect` waits in line to lead when --wait is not given. */
export const DEFAULT_ELECT_WAIT = "1h";

interface ElectFlags extends ClientFlags, LockFlags {}

export function registerElectCommand(program: Command): void {
  const command = program
    .command("elect")
    .description(
      "campaign in an election and run a command while leader: waits in line, runs the command with the leadership's fencing token, steps down when it exits; if leadership is lost, the command is stopped",
    )
    .argument("<name>", "the election's name (its lock is election/<name>)")
    .argument("<value>", "who this candidate is, as observers see it; unique per candidate")
    .argument("[command...]", "the command and its arguments, after --");
  addLockOptions(command, { refresh: true });
  addClientOptions(command, { json: false });
  command
    .addHelpText(
      "after",
      `
Candidates lead in the order they campaigned. Default --wait ${DEFAULT_ELECT_WAIT}: exit 3 if not leader by then.
The command gets DLOCK_FENCING_TOKEN (greater for every later leadership), DLOCK_LOCK_KEY and
DLOCK_LOCK_VALUE; signals and a lost leadership are handled as by dlock lock.
Observe the leader with: dlock watch election/<name>
` +
        exitCodesHelp(LOCKED_RUN_EXITS, ["otherwise the command's exit status"]) +
        examplesHelp(['dlock elect scheduler "$(hostname)" -- ./run-scheduler.sh']),
    )
    .action(
      namedAction(
        "dlock elect",
        async (name: string, value: string, argv: string[], flags: ElectFlags) => {
          let key: string;
          try {
            key = electionKey(name);
          } catch (error) {
            throw new CliExit(EXIT.USAGE, (error as Error).message);
          }
          if (argv.length === 0) {
            throw new CliExit(
              EXIT.USAGE,
              `dlock elect: give the command to run after --, e.g. dlock elect ${name} ${value} -- ./job.sh`,
            );
          }
          process.exitCode = await runLockCommand(
            key,
            argv,
            { ...flags, value, wait: flags.wait ?? DEFAULT_ELECT_WAIT },
            null,
            { name: "dlock elect", what: "leadership" },
          );
        },
      ),
    );
}
