// `dlock release <key> <value> [--token N]`: frees the lock if `value` (and grant N) holds it.
// A lock that was not held so is reported, not an error: nothing held by anyone else changes.
// `dlock release --force <key> [--token N]` (admin): frees it whoever holds it, and says which grant.
import { Option } from "commander";
import type { Command } from "commander";
import { addClientOptions, clientSettingsFromFlags, jsonWanted } from "../client-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { namedAction, withLocker } from "../client-command.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp, CLIENT_EXITS, exitCodesHelp } from "../help.js";
import { forceReleaseText, jsonLine, releaseJson, releaseText } from "../output.js";
import { parseBooleanEnvironment, parseCountFlag } from "../parse.js";

interface ReleaseFlags extends ClientFlags {
  token?: string;
  force?: boolean;
}

export function registerReleaseCommand(program: Command): void {
  const command = program
    .command("release")
    .description(
      "release a lock held by <value>; prints whether it was released or was not held (both exit 0)",
    )
    .argument("<key>", "the lock's name")
    .argument("[value]", "the holder's value it was acquired with (not with --force)")
    .addOption(
      new Option(
        "--token <n>",
        "release only the grant with this fencing token, never a later grant to the same value",
      ).env("DLOCK_TOKEN"),
    )
    .addOption(
      new Option(
        "--force",
        "admin only: free the lock whoever holds it (no <value>; a semaphore's key: every holder, or those of --token); prints the fencing token(s) freed, audited in the leader's log; DLOCK_FORCE=1 or 0",
      ).env("DLOCK_FORCE"),
    );
  addClientOptions(command);
  command
    .addHelpText(
      "after",
      `\nWith --json: {"key","value","released"}; "released": false means the lock was not held by\n<value> (and --token): nothing changed. With --force: {"key","released","fencingToken"}, plus "semaphore":{"permitsFreed","fencingTokens"}\non a semaphore's key.\n` +
        exitCodesHelp(CLIENT_EXITS) +
        examplesHelp([
          'dlock release deploy ci-42 --token "$TOKEN"',
          "dlock release --force deploy",
        ]),
    )
    .action(
      namedAction(
        "dlock release",
        async (key: string, value: string | undefined, flags: ReleaseFlags, cmd: Command) => {
          const settings = clientSettingsFromFlags(flags);
          const token =
            flags.token === undefined
              ? undefined
              : parseCountFlag("--token", flags.token, Number.MAX_SAFE_INTEGER);
          const json = jsonWanted(cmd);
          // Commander sets a boolean flag whenever its variable exists: the value must decide.
          if (cmd.getOptionValueSource("force") === "env") {
            flags.force = parseBooleanEnvironment("DLOCK_FORCE", process.env.DLOCK_FORCE ?? "");
          }
          if (flags.force === true) {
            if (value !== undefined) {
              throw new CliExit(
                EXIT.USAGE,
                "--force frees whoever holds the lock: give no <value>",
              );
            }
            const forced = await withLocker("dlock release", settings, (locker) =>
              locker.forceRelease(key, token === undefined ? {} : { token }),
            );
            const result = { key, ...forced };
            process.stdout.write(json ? jsonLine(result) : forceReleaseText(result));
            return;
          }
          if (value === undefined) {
            throw new CliExit(EXIT.USAGE, "missing <value> (or --force, admin only)");
          }
          const result = await withLocker("dlock release", settings, (locker) =>
            locker.release(key, value, token === undefined ? {} : { token }),
          );
          const release = releaseJson(key, value, result);
          process.stdout.write(json ? jsonLine(release) : releaseText(release, token));
        },
      ),
    );
}
