// `dlock release <key> <value> [--token N]`: frees the lock if `value` (and grant N) holds it.
// A lock that was not held so is reported, not an error: nothing held by anyone else changes.
import { Option } from "commander";
import type { Command } from "commander";
import { addClientOptions, clientSettingsFromFlags, jsonWanted } from "../client-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { namedAction, withLocker } from "../client-command.js";
import { EXIT } from "../exit-codes.js";
import { examplesHelp, exitCodesHelp } from "../help.js";
import { jsonLine, releaseJson, releaseText } from "../output.js";
import { parseCountFlag } from "../parse.js";

interface ReleaseFlags extends ClientFlags {
  token?: string;
}

export function registerReleaseCommand(program: Command): void {
  const command = program
    .command("release")
    .description(
      "release a lock held by <value>; prints whether it was released or was not held (both exit 0)",
    )
    .argument("<key>", "the lock's name")
    .argument("<value>", "the holder's value it was acquired with")
    .addOption(
      new Option(
        "--token <n>",
        "release only the grant with this fencing token, never a later grant to the same value",
      ).env("DLOCK_TOKEN"),
    );
  addClientOptions(command);
  command
    .addHelpText(
      "after",
      `\nWith --json: {"key","value","released"}; "released": false means the lock was not held by\n<value> (and --token): nothing changed.\n` +
        exitCodesHelp([EXIT.OK, EXIT.ERROR, EXIT.USAGE, EXIT.UNAVAILABLE]) +
        examplesHelp(['dlock release deploy ci-42 --token "$TOKEN"']),
    )
    .action(
      namedAction(
        "dlock release",
        async (key: string, value: string, flags: ReleaseFlags, cmd: Command) => {
          const settings = clientSettingsFromFlags(flags);
          const token =
            flags.token === undefined
              ? undefined
              : parseCountFlag("--token", flags.token, Number.MAX_SAFE_INTEGER);
          const json = jsonWanted(cmd);
          const result = await withLocker("dlock release", settings, (locker) =>
            locker.release(key, value, token === undefined ? {} : { token }),
          );
          const release = releaseJson(key, value, result);
          process.stdout.write(json ? jsonLine(release) : releaseText(release, token));
        },
      ),
    );
}
