// `dlock list <prefix>`: the locks whose keys start with a prefix (linearizable, paginated).
import type { Command } from "commander";
import { Option } from "commander";
import { LIST_LIMIT_MAX } from "@dlock/client";
import type { ClientFlags } from "../client-flags.js";
import { clientAction, prefixCommand, withLocker } from "../client-command.js";
import { clientCommandHelp } from "../help.js";
import { jsonLine } from "../output.js";
import { listText } from "../watch-output.js";
import { parseCountFlag } from "../parse.js";

interface ListFlags extends ClientFlags {
  limit?: string;
  after?: string;
}

export function registerListCommand(program: Command): void {
  prefixCommand(
    program,
    "list",
    "list the locks whose keys start with PREFIX, in key order: holder (a semaphore's permits, a reader-writer key's mode and holders), fencing token, waiters (a linearizable read through the leader)",
  )
    .addOption(
      new Option("--limit <n>", `most locks in the page (1..${LIST_LIMIT_MAX}, default 100)`).env(
        "DLOCK_LIST_LIMIT",
      ),
    )
    .addOption(
      new Option("--after <key>", "start after this key (the last key of the previous page)").env(
        "DLOCK_LIST_AFTER",
      ),
    )
    .addHelpText(
      "after",
      clientCommandHelp(
        `\nWith --json: {"locks":[{"key","value","fencingToken","waiters","inLockDelay"}],"revision","more"};\n` +
          `a semaphore key adds "semaphore":{"permits","held","holders":[{"value","fencingToken","count"}]},\n` +
          `a reader-writer key "rw":{"mode","holders":[{"value","fencingToken","mode"}]}\n` +
          `(revision: the applied revision the page was read at; watch from revision + 1 to follow it;\n` +
          `more: ask again with --after the last key).\n`,
        ["dlock list jobs/", "dlock list jobs/ --json --limit 10"],
      ),
    )
    .action(
      clientAction("dlock list", async (prefix: string, flags: ListFlags, { settings, json }) => {
        const options: { limit?: number; after?: string } = {};
        if (flags.limit !== undefined) {
          options.limit = parseCountFlag("--limit", flags.limit, LIST_LIMIT_MAX);
        }
        if (flags.after !== undefined) options.after = flags.after;
        const result = await withLocker("dlock list", settings, (locker) =>
          locker.list(prefix, options),
        );
        process.stdout.write(json ? jsonLine(result) : listText(result));
      }),
    );
}
