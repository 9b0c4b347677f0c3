// What each client command prints: one JSON object (--json, a contract scripts rely on) or text
// for people. Pure functions of the results, so the shapes are tested without a cluster.
import type {
  ForceReleaseResult,
  GetResult,
  Grant,
  ReleaseResult,
  StatusResult,
} from "@dlock/client";

export interface AcquireJson {
  key: string;
  value: string;
  fencingToken: number;
  ttlMs: number;
}

export interface ReleaseJson {
  key: string;
  value: string;
  released: boolean;
}

export interface GetJson extends GetResult {
  key: string;
}

export function acquireJson(grant: Grant): AcquireJson {
  return {
    key: grant.key,
    value: grant.value,
    fencingToken: grant.fencingToken,
    ttlMs: grant.ttlMs,
  };
}

/** The token alone, so that `TOKEN=$(dlock acquire k v)` works. */
export function acquireText(grant: Grant): string {
  return `${grant.fencingToken}\n`;
}

export function releaseJson(key: string, value: string, result: ReleaseResult): ReleaseJson {
  return { key, value, released: result.released };
}

export function releaseText(release: ReleaseJson, token: number | undefined): string {
  const grant =
    token === undefined ? `"${release.value}"` : `"${release.value}" with token ${token}`;
  return release.released
    ? `released "${release.key}" (held by ${grant})\n`
    : `"${release.key}" was not held by ${grant}: nothing changed\n`;
}

export function forceReleaseText(result: ForceReleaseResult & { key: string }): string {
  const freed = result.semaphore;
  if (freed !== undefined) {
    return freed.fencingTokens.length > 0
      ? `force-released ${freed.permitsFreed} permit(s) of "${result.key}" (fencing token(s) ${freed.fencingTokens.join(", ")})\n`
      : `"${result.key}" had no holder (of that grant): nothing changed\n`;
  }
  return result.released
    ? `force-released "${result.key}" (grant with fencing token ${result.fencingToken})\n`
    : `"${result.key}" was not held (by that grant): nothing changed\n`;
}

export function getJson(key: string, result: GetResult): GetJson {
  return {
    key,
    held: result.held,
    value: result.value,
    fencingToken: result.fencingToken,
    ttlRemainingMs: result.ttlRemainingMs,
    waiters: result.waiters,
    ...(result.semaphore === undefined ? {} : { semaphore: result.semaphore }),
    ...(result.rw === undefined ? {} : { rw: result.rw }),
  };
}

export function getText(get: GetJson): string {
  const rows: Array<[string, string]> = [["key", get.key]];
  if (get.held) {
    rows.push(
      ["held", "yes"],
      ["value", get.value ?? "(hidden: not your grant)"],
      ["token", String(get.fencingToken)],
      ["ttl left", get.ttlRemainingMs === null ? "unknown" : formatMs(get.ttlRemainingMs)],
    );
  } else {
    rows.push(["held", "no"]);
  }
  const semaphore = get.semaphore;
  if (semaphore !== undefined) {
    // A semaphore has holders, not one value: say how many permits each holds.
    rows.splice(2, 3, ["permits", `${semaphore.held} of ${semaphore.permits} held`]);
    for (const h of semaphore.holders) {
      rows.push([
        "holder",
        `${h.value ?? "(hidden: not your grant)"}: ${h.count} permit(s), token ${h.fencingToken}, ttl left ${
          h.ttlRemainingMs === null ? "unknown" : formatMs(h.ttlRemainingMs)
        }`,
      ]);
    }
  }
  const rw = get.rw;
  if (rw !== undefined) {
    // A reader-writer key has its writer or its readers: one row each.
    rows.splice(2, 3, ["mode", rw.mode === "write" ? "held by its writer" : "held by readers"]);
    for (const h of rw.holders) {
      rows.push([
        h.mode === "write" ? "writer" : "reader",
        `${h.value ?? "(hidden: not your grant)"}: token ${h.fencingToken}, ttl left ${
          h.ttlRemainingMs === null ? "unknown" : formatMs(h.ttlRemainingMs)
        }`,
      ]);
    }
  }
  rows.push(["waiters", String(get.waiters)]);
  return table(rows.map(([name, value]) => [`${name}:`, value]));
}

/** The status answer as it came (extra member fields such as clientAddress included). */
export function statusJson(result: StatusResult): StatusResult {
  const json: StatusResult = { leader: result.leader, term: result.term, members: result.members };
  if (result.tableLimits !== undefined) json.tableLimits = result.tableLimits;
  return json;
}

export function statusText(result: StatusResult): string {
  const header = result.leader === null ? "no leader right now" : `leader: ${result.leader}`;
  const rows = [
    ["ID", "ROLE", "TERM", "COMMIT", "APPLIED", "HEALTHY", "CLIENT"],
    ...result.members.map((member) => [
      member.id,
      member.role,
      String(member.term),
      String(member.commitIndex),
      String(member.appliedIndex),
      member.healthy ? "yes" : "no",
      member.clientAddress ?? "-",
    ]),
  ];
  return `${header} (term ${result.term})\n${table(rows)}`;
}

export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** 850 → "850ms", 28_400 → "28.4s", 252_000 → "4m12s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return `${hours > 0 ? `${hours}h` : ""}${minutes > 0 ? `${minutes}m` : ""}${seconds > 0 ? `${seconds}s` : ""}`;
}

/** Left-aligned columns separated by two spaces; no trailing spaces. */
export function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
        )
        .join("  "),
    )
    .join("\n")
    .concat("\n");
}
