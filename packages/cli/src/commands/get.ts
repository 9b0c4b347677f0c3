// `dlock get <key>`: a linearizable read of one lock (holder, fencing token, ttl left, waiters).
import type { Command } from "commander";
import { addClientOptions } from "../client-flags.js";
import type { ClientFlags } from "../client-flags.js";
import { clientAction, withLocker } from "../client-command.js";
import { clientCommandHelp } from "../help.js";
import { getJson, getText, jsonLine } from "../output.js";

export function registerGetCommand(program: Command): void {
  const command = program
    .command("get")
    .description(
      "show a lock: whether it is held, by which value, its fencing token, the ttl left and the waiters queued; for a semaphore, the permits held and each holder (a linearizable read through the leader)",
    )
    .argument("<key>", "the lock's name");
  addClientOptions(command);
  command
    .addHelpText(
      "after",
      clientCommandHelp(
        `\nWith --json: {"key","held","value","fencingToken","ttlRemainingMs","waiters"}\n(value, fencingToken and ttlRemainingMs are null when the lock is free). A semaphore's key adds\n"semaphore":{"permits","held","holders":[{"value","fencingToken","count","ttlRemainingMs"}]}, a\nreader-writer key "rw":{"mode","holders":[{"value","fencingToken","mode","ttlRemainingMs"}]}.\n`,
        ["dlock get deploy", "dlock get deploy --json", "dlock get encoders"],
      ),
    )
    .action(
      clientAction("dlock get", async (key: string, _flags: ClientFlags, { settings, json }) => {
        const result = await withLocker("dlock get", settings, (locker) => locker.get(key));
        const get = getJson(key, result);
        process.stdout.write(json ? jsonLine(get) : getText(get));
      }),
    );
}
