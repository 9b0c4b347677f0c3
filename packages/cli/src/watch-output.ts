// What `dlock list` and `dlock watch` print for people (their --json is the result as it came).
import type { ListedLock, ListResult, WatchEvent } from "@dlock/client";

export function listText(result: ListResult): string {
  const rows = [
    ["KEY", "VALUE", "TOKEN", "WAITERS"],
    ...result.locks.map((lock) => [
      lock.key,
      listedValue(lock),
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

/**
 * The VALUE cell: the holder's value; for a semaphore its permits held and each holder's count,
 * for a reader-writer key its mode and holders ("(hidden)" for values an auth file hides).
 */
function listedValue(lock: ListedLock): string {
  const shown = (value: string | null): string => value ?? "(hidden)";
  if (lock.semaphore !== undefined) {
    const { permits, held, holders } = lock.semaphore;
    const who = holders.map((h) => `${shown(h.value)}×${h.count}`).join(", ");
    return `semaphore ${held}/${permits}: ${who}`;
  }
  if (lock.rw !== undefined) {
    const who = lock.rw.holders.map((h) => shown(h.value)).join(", ");
    return `${lock.rw.mode === "write" ? "writer" : "readers"}: ${who}`;
  }
  if (lock.value === null) return lock.inLockDelay ? "(lock delay)" : "(hidden)";
  return lock.value;
}

/**
 * One event: revision, type, key, value, then what the value holds or waits for (a reader-writer
 * key's mode, or k of a semaphore's N permits), its token and, for dequeued, why.
 */
export function watchEventText(event: WatchEvent): string {
  const who = event.value === null ? "" : ` "${event.value}"`;
  let share = "";
  if (event.mode !== undefined) share = ` ${event.mode}`;
  else if (event.permits !== undefined && event.count !== undefined)
    share = ` ${event.count} of ${event.permits} permits`;
  const token = event.token > 0 ? ` token ${event.token}` : "";
  const reason = event.reason === undefined ? "" : ` (${event.reason})`;
  return `${event.revision} ${event.type} "${event.key}"${who}${share}${token}${reason}\n`;
}
