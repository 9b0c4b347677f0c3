// `dlock status`: the cluster's members, their roles, terms and indexes, and its leader.
import type { Command } from "commander";
import { addClientOptions, clientSettingsFromFlags, jsonWanted } from "../client-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { namedAction, withLocker } from "../client-command.js";
import { EXIT } from "../exit-codes.js";
import { examplesHelp, exitCodesHelp } from "../help.js";
import { jsonLine, statusJson, statusText } from "../output.js";

export function registerStatusCommand(program: Command): void {
  const command = program
    .command("status")
    .description(
      "show the cluster's leader and members (role, term, commit and applied index, health, client address), as the leader sees them",
    );
  addClientOptions(command);
  command
    .addHelpText(
      "after",
      `\nWith --json: {"leader","term","members":[{"id","role","term","commitIndex","appliedIndex",\n"healthy","clientAddress"}]}\n` +
        exitCodesHelp([EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.UNAVAILABLE]) +
        examplesHelp(["dlock status", "dlock status --json --timeout 3s"]),
    )
    .action(
      namedAction("dlock status", async (flags: ClientFlags, cmd: Command) => {
        const settings = clientSettingsFromFlags(flags);
        const json = jsonWanted(cmd);
        const result = await withLocker("dlock status", settings, (locker) => locker.status());
        process.stdout.write(json ? jsonLine(statusJson(result)) : statusText(result));
      }),
    );
}
