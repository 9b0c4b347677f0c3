// `dlock watch <prefix>`: prints the changes of the locks under a prefix as they are committed,
// one line each, until interrupted; resumes across reconnects and leader changes.
import type { Command } from "commander";
import { Option } from "commander";
import type { ClientFlags } from "../client-flags.js";
import { clientAction, prefixCommand, withLocker } from "../client-command.js";
import { clientCommandHelp } from "../help.js";
import { jsonLine } from "../output.js";
import { watchEventText } from "../watch-output.js";
import { parseCountFlag } from "../parse.js";

interface WatchFlags extends ClientFlags {
  fromRevision?: string;
  events?: string;
}

/** Most events `--events` may ask for (any more is "until interrupted"). */
const WATCH_EVENTS_FLAG_MAX = 1_000_000_000;

export function registerWatchCommand(program: Command): void {
  prefixCommand(
    program,
    "watch",
    "print every change (granted, released, expired, queued, dequeued, delayEnded) of the locks whose keys start with PREFIX, in committed order, until interrupted",
  )
    .addOption(
      new Option(
        "--from-revision <n>",
        "start at this revision (e.g. a list's revision + 1) instead of now",
      ).env("DLOCK_FROM_REVISION"),
    )
    .addOption(
      new Option(
        "--events <n>",
        "exit 0 after printing this many events (default: until interrupted)",
      ).env("DLOCK_WATCH_EVENTS"),
    )
    .addHelpText(
      "after",
      clientCommandHelp(
        `\nWith --json: one line per event: {"revision","type","key","value","token"} (+ "reason" for dequeued,\n` +
          `"mode" for a reader-writer key, "permits" and "count" for a semaphore).\n` +
          `Stops on SIGINT/SIGTERM (exit 0). A revision older than the leader's event history fails\n` +
          `with WATCH_REVISION_COMPACTED: run dlock list and watch from its revision + 1.\n`,
        [
          "dlock watch jobs/",
          "dlock watch jobs/ --json --from-revision 120",
          "dlock watch election/reports --events 1",
        ],
      ),
    )
    .action(
      clientAction("dlock watch", async (prefix: string, flags: WatchFlags, { settings, json }) => {
        const eventsMax =
          flags.events === undefined
            ? null
            : parseCountFlag("--events", flags.events, WATCH_EVENTS_FLAG_MAX);
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        const options: { prefix: boolean; fromRevision?: number; signal: AbortSignal } = {
          prefix: true,
          signal: stop.signal,
        };
        if (flags.fromRevision !== undefined) {
          options.fromRevision = parseCountFlag(
            "--from-revision",
            flags.fromRevision,
            Number.MAX_SAFE_INTEGER,
          );
        }
        try {
          await withLocker("dlock watch", settings, async (locker) => {
            let printed = 0;
            if (eventsMax === 0) return;
            for await (const event of locker.watch(prefix, options)) {
              process.stdout.write(json ? jsonLine(event) : watchEventText(event));
              if (++printed === eventsMax) break; // Leaving the loop ends the watch.
            }
          });
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      }),
    );
}
