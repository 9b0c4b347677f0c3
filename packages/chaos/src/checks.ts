// The checks a chaos history must pass. Times are the runner's monotonic clock, shared by every
// client of the run, so "at the same real moment" is well defined.
import type { GrantRecord, History } from "./history.js";

export interface CheckResult {
  name: string;
  violations: string[];
  /** What the check looked at, to show it saw real work. */
  examined: number;
}

/** No two clients believe they hold the same key at the same moment. */
export function checkMutualExclusion(history: History, endMs: number): CheckResult {
  const violations: string[] = [];
  let examined = 0;
  for (const grants of byKey(history.grants).values()) {
    const ordered = [...grants].sort((a, b) => a.grantedMs - b.grantedMs);
    // The earlier grant whose holder believed in it the longest, so far.
    let longest: GrantRecord | null = null;
    for (const b of ordered) {
      examined++;
      if (longest !== null) {
        const until = longest.believedUntilMs ?? endMs;
        if (b.grantedMs < until && longest.token !== b.token) {
          violations.push(
            `${b.key}: ${longest.client} (token ${longest.token}) believed it held until ` +
              `${rel(history, until)} but ${b.client} (token ${b.token}) was granted at ${rel(history, b.grantedMs)}`,
          );
        }
      }
      if (longest === null || (b.believedUntilMs ?? endMs) > (longest.believedUntilMs ?? endMs)) {
        longest = b;
      }
    }
  }
  return { name: "mutual exclusion in real time", violations, examined };
}

/**
 * Fencing: a later grant of a key has a higher token than every grant that ended before it, and
 * the resource never rejected a write made while its writer believed its lock valid (that would
 * mean a later holder wrote while an earlier one still believed in its lock).
 */
export function checkFencing(history: History): CheckResult {
  const violations: string[] = [];
  let examined = 0;
  for (const grants of byKey(history.grants).values()) {
    const ordered = [...grants].sort((a, b) => a.grantedMs - b.grantedMs);
    // Highest token among grants whose holders had stopped believing before the current grant.
    const ended = [...ordered]
      .filter((g) => g.believedUntilMs !== null)
      .sort((a, b) => (a.believedUntilMs as number) - (b.believedUntilMs as number));
    let next = 0;
    let highest: GrantRecord | null = null;
    for (const b of ordered) {
      while (next < ended.length && (ended[next].believedUntilMs as number) <= b.grantedMs) {
        if (highest === null || ended[next].token > highest.token) highest = ended[next];
        next++;
      }
      examined++;
      if (highest !== null && highest !== b && b.token <= highest.token) {
        violations.push(
          `${b.key}: token ${b.token} granted to ${b.client} after token ${highest.token} of ${highest.client} ended`,
        );
      }
    }
  }
  for (const write of history.writes) {
    examined++;
    if (write.believedValid && !write.accepted) {
      violations.push(
        `${write.key}: the resource rejected token ${write.token} of ${write.client} at ` +
          `${rel(history, write.atMs)} while that client believed its lock valid`,
      );
    }
  }
  return { name: "fencing tokens", violations, examined };
}

/**
 * Acknowledged releases are not lost: once a release of (value, token) was acknowledged as
 * freeing the lock, no later get shows that same grant holding the key.
 */
export function checkAcknowledged(history: History): CheckResult {
  const violations: string[] = [];
  let examined = 0;
  const released = new Map<string, number>();
  const ops = [...history.ops].sort((a, b) => a.callMs - b.callMs);
  for (const op of ops) {
    if (op.kind === "release" && op.outcome === "ok" && op.detail === "released") {
      released.set(`${op.key}\u0000${op.value}\u0000${op.token}`, op.returnMs ?? op.callMs);
    }
    if (op.kind === "get" && op.outcome === "ok" && op.detail !== "free") {
      const [value, token] = op.detail.split("@");
      const at = released.get(`${op.key}\u0000${value}\u0000${token}`);
      examined++;
      if (at !== undefined && at < op.callMs) {
        violations.push(
          `${op.key}: get at ${rel(history, op.callMs)} shows ${value} token ${token} holding after its release was acknowledged at ${rel(history, at)}`,
        );
      }
    }
  }
  return { name: "acknowledged releases kept", violations, examined };
}

function byKey(grants: readonly GrantRecord[]): Map<string, GrantRecord[]> {
  const map = new Map<string, GrantRecord[]>();
  for (const grant of grants) {
    let list = map.get(grant.key);
    if (list === undefined) {
      list = [];
      map.set(grant.key, list);
    }
    list.push(grant);
  }
  return map;
}

function rel(history: History, ms: number): string {
  return `${((ms - history.startMs) / 1000).toFixed(3)}s`;
}
