// `dlock acquire <key> <value>`: takes the lock once and prints its fencing token. Nothing keeps
// it refreshed: it ends by its ttl unless released (`dlock release`) or acquired again with the
// same value (which refreshes it).
import type { Command } from "commander";
import { addClientOptions, clientSettingsFromFlags, jsonWanted } from "../client-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { namedAction, withLocker } from "../client-command.js";
import { CliExit, EXIT } from "../exit-codes.js";
import { examplesHelp, AUTH_EXITS, exitCodesHelp } from "../help.js";
import {
  addLockOptions,
  addRwOptions,
  addSemaphoreOptions,
  lockOptionsFromFlags,
  rwModeFromFlags,
  semaphoreCountsFromFlags,
} from "../lock-flags.js";
import type { LockFlags, RwFlags, SemaphoreFlags } from "../lock-flags.js";
import { acquireJson, acquireText, jsonLine } from "../output.js";

export function registerAcquireCommand(program: Command): void {
  const command = program
    .command("acquire")
    .description(
      "take a lock once and print its fencing token; it is not refreshed, so it ends after --ttl unless released or acquired again with the same value",
    )
    .argument("<key>", "the lock's name")
    .argument(
      "<value>",
      "the holder's value, unique per holder (acquiring again with the same value refreshes the lock)",
    );
  addLockOptions(command, { refresh: false });
  addSemaphoreOptions(command, { required: false });
  addRwOptions(command, "take");
  addClientOptions(command);
  command
    .addHelpText(
      "after",
      `\nPrints the fencing token; with --json: {"key","value","fencingToken","ttlMs"}.\n` +
        exitCodesHelp([
          EXIT.OK,
          EXIT.ERROR,
          EXIT.USAGE,
          EXIT.LOCK_BUSY,
          EXIT.UNAVAILABLE,
          ...AUTH_EXITS,
        ]) +
        examplesHelp([
          "TOKEN=$(dlock acquire deploy ci-42 --ttl 5m)",
          "dlock acquire deploy ci-42 --ttl 5m --wait 1m --json",
          "dlock acquire encoders worker-7 --permits 4 --ttl 5m --json",
          "dlock acquire catalog reindex-1 --write --ttl 5m --json",
        ]),
    )
    .action(
      namedAction(
        "dlock acquire",
        async (
          key: string,
          value: string,
          flags: ClientFlags & LockFlags & SemaphoreFlags & RwFlags,
          cmd: Command,
        ) => {
          const settings = clientSettingsFromFlags(flags);
          const options = lockOptionsFromFlags(flags);
          const counts = semaphoreCountsFromFlags(flags);
          const mode = rwModeFromFlags(flags);
          if (mode !== null && counts !== null)
            throw new CliExit(
              EXIT.USAGE,
              "dlock acquire: --read/--write and --permits exclude each other",
            );
          const json = jsonWanted(cmd);
          const grant = await withLocker("dlock acquire", settings, (locker) =>
            mode !== null
              ? locker.acquireRw(key, value, mode, options)
              : counts === null
                ? locker.acquire(key, value, options)
                : locker.acquireSemaphore(key, value, { ...options, ...counts }),
          );
          process.stdout.write(json ? jsonLine(acquireJson(grant)) : acquireText(grant));
        },
      ),
    );
}
