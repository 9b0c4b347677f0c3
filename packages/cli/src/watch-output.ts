// What `dlock list` and `dlock watch` print for people (their --json is the result as it came).
import type { ListResult, WatchEvent } from "@dlock/client";

export function listText(result: ListResult): string {
  const rows = [
    ["KEY", "VALUE", "TOKEN", "WAITERS"],
    ...result.locks.map((lock) => [
      lock.key,
      lock.value === null ? (lock.inLockDelay ? "(lock delay)" : "(hidden)") : lock.value,
      lock.fencingToken === null ? "-" : String(lock.fencingToken),
      String(lock.waiters.length),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
  lines.push(
    `revision ${result.revision}${result.more ? `; more: --after "${result.locks[result.locks.length - 1]?.key ?? ""}"` : ""}`,
  );
  return lines.join("\n") + "\n";
}

export function watchEventText(event: WatchEvent): string {
  const who = event.value === null ? "" : ` "${event.value}"`;
  const token = event.token > 0 ? ` token ${event.token}` : "";
  const reason = event.reason === undefined ? "" : ` (${event.reason})`;
  return `${event.revision} ${event.type} "${event.key}"${who}${token}${reason}\n`;
}
