// The flags of `acquire` and `lock` that become the lock options of the client library
// (ttl, retry interval and limit, wait, refresh interval), each with its environment variable.
import { Option } from "commander";
import type { Command } from "commander";
import {
  DEFAULT_SEMAPHORE_COUNT,
  PERMITS_MAX,
  DEFAULT_RETRY_INTERVAL_MS,
  DEFAULT_RETRY_LIMIT,
  DEFAULT_TTL_MS,
  RETRY_LIMIT_MAX,
} from "@dlock/client";
import type { LockOptions } from "@dlock/client";
import { CliExit, EXIT } from "./exit-codes.js";
import { formatMs } from "./output.js";
import { parseCountFlag, parseDurationFlag } from "./parse.js";

export interface LockFlags {
  ttl?: string;
  wait?: string;
  retryInterval?: string;
  retryLimit?: string;
  refreshInterval?: string;
}

/** Adds --ttl, --wait, --retry-interval, --retry-limit and, when `refresh`, --refresh-interval. */
export function addLockOptions(command: Command, { refresh }: { refresh: boolean }): Command {
  command
    .addOption(
      new Option(
        "--ttl <duration>",
        `lease length: the cluster frees the lock if it is not refreshed within it (default ${formatMs(DEFAULT_TTL_MS)})`,
      ).env("DLOCK_TTL"),
    )
    .addOption(
      new Option(
        "--wait <duration>",
        "if the lock is busy, wait in its fair FIFO queue up to this long (per attempt) instead of giving up (default: do not wait)",
      ).env("DLOCK_WAIT"),
    )
    .addOption(
      new Option(
        "--retry-interval <duration>",
        `pause between attempts while the lock is busy (default ${formatMs(DEFAULT_RETRY_INTERVAL_MS)})`,
      ).env("DLOCK_RETRY_INTERVAL"),
    )
    .addOption(
      new Option(
        "--retry-limit <n>",
        `attempts after the first before giving up with exit 3 (default ${DEFAULT_RETRY_LIMIT}: try once)`,
      ).env("DLOCK_RETRY_LIMIT"),
    );
  if (refresh) {
    command.addOption(
      new Option(
        "--refresh-interval <duration>",
        "how often the lock is refreshed while the command runs (default: ttl / 3)",
      ).env("DLOCK_REFRESH_INTERVAL"),
    );
  }
  return command;
}

export interface SemaphoreFlags {
  permits?: string;
  count?: string;
}

/** Adds --permits and --count (a counting semaphore's N and k). */
export function addSemaphoreOptions(
  command: Command,
  { required }: { required: boolean },
): Command {
  const permits = new Option(
    "--permits <n>",
    required
      ? "N: how many holders' permits the semaphore has; every user of the key must give the same N"
      : "take permits of a counting semaphore with N permits instead of the lock (every user of the key must give the same N)",
  ).env("DLOCK_PERMITS");
  if (required) permits.makeOptionMandatory();
  return command
    .addOption(permits)
    .addOption(
      new Option(
        "--count <k>",
        `how many of the N permits to take at once (default ${DEFAULT_SEMAPHORE_COUNT}; needs --permits)`,
      ).env("DLOCK_PERMIT_COUNT"),
    );
}

/** The semaphore's N and k from the flags; null when --permits is absent. */
export function semaphoreCountsFromFlags(
  flags: SemaphoreFlags,
): { permits: number; count: number } | null {
  if (flags.permits === undefined) {
    if (flags.count !== undefined)
      throw new CliExit(EXIT.USAGE, "--count needs --permits (the semaphore's N)");
    return null;
  }
  const permits = parseCountFlag("--permits", flags.permits, PERMITS_MAX);
  const count =
    flags.count === undefined
      ? DEFAULT_SEMAPHORE_COUNT
      : parseCountFlag("--count", flags.count, PERMITS_MAX);
  if (permits < 1) throw new CliExit(EXIT.USAGE, "--permits must be at least 1");
  if (count < 1 || count > permits)
    throw new CliExit(EXIT.USAGE, `--count must be between 1 and --permits (${permits})`);
  return { permits, count };
}

/** The flags as lock options; absent flags keep the library's defaults. */
export function lockOptionsFromFlags(flags: LockFlags): LockOptions {
  const options: LockOptions = {};
  if (flags.ttl !== undefined) options.ttl = parseDurationFlag("--ttl", flags.ttl);
  if (flags.wait !== undefined) options.wait = parseDurationFlag("--wait", flags.wait);
  if (flags.retryInterval !== undefined) {
    options.retryInterval = parseDurationFlag("--retry-interval", flags.retryInterval);
  }
  if (flags.retryLimit !== undefined) {
    options.retryLimit = parseCountFlag("--retry-limit", flags.retryLimit, RETRY_LIMIT_MAX);
  }
  if (flags.refreshInterval !== undefined) {
    options.refreshInterval = parseDurationFlag("--refresh-interval", flags.refreshInterval);
  }
  return options;
}

export interface RwFlags {
  read?: boolean;
  write?: boolean;
}

/** Adds --read and --write (a reader-writer lock's mode). */
export function addRwOptions(command: Command, what = "hold"): Command {
  return command
    .addOption(
      new Option(
        "--read",
        `${what} the key as a reader-writer lock's reader, beside other readers`,
      ),
    )
    .addOption(
      new Option("--write", `${what} the key as a reader-writer lock's writer, alone`).conflicts(
        "read",
      ),
    );
}

/** The reader-writer mode from --read / --write; null when neither is given. */
export function rwModeFromFlags(flags: RwFlags): "read" | "write" | null {
  if (flags.read === true) return "read";
  return flags.write === true ? "write" : null;
}
