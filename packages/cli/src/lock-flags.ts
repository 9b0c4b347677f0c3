// The flags of `acquire` and `lock` that become the lock options of the client library
// (ttl, retry interval and limit, wait, refresh interval), each with its environment variable.
import { Option } from "commander";
import type { Command } from "commander";
import {
  DEFAULT_RETRY_INTERVAL_MS,
  DEFAULT_RETRY_LIMIT,
  DEFAULT_TTL_MS,
  RETRY_LIMIT_MAX,
} from "@dlock/client";
import type { LockOptions } from "@dlock/client";
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
