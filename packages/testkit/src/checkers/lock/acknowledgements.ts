import type { LockResult } from "@dlock/server/lock";
import type { CommittedLockEntry, WireOp } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";

/**
 * No lost acknowledgements (docs/design.md §2): every acquire, refresh, release and cancel a client was
 * told succeeded is a committed entry with that result, applied somewhere before the answer
 * reached the client, and still in the final log (after every crash of the run).
 *
 * `finalChainAt(index)` is the chain hash at `index` in the log of the node that ends the run as
 * leader (null when it no longer holds that index, compacted into a snapshot).
 */
export function checkAcknowledgements(
  ops: readonly WireOp[],
  committed: ReadonlyMap<number, CommittedLockEntry>,
  finalChainAt: (index: number) => number | null,
): SafetyViolation | null {
  const byKey = new Map<string, CommittedLockEntry[]>();
  for (const entry of committed.values()) {
    const key = entry.result.key;
    let list = byKey.get(key);
    if (list === undefined) byKey.set(key, (list = []));
    list.push(entry);
  }
  for (const op of ops) {
    const response = op.response;
    if (response === null || response.type !== "ok" || op.returnMs === null) continue;
    const result = response.result as Record<string, unknown>;
    const request = op.request;
    let matches: (entryResult: LockResult) => boolean;
    let what: string;
    switch (request.type) {
      case "acquire": {
        const token = result.fencingToken as number;
        what = `acquire of "${request.key}" by ${request.value} (token ${token})`;
        matches = (r) =>
          (r.type === "granted" && r.value === request.value && r.token === token) ||
          ((r.type === "released" || r.type === "expired" || r.type === "delayCleared") &&
            r.next !== null &&
            r.next.value === request.value &&
            r.next.token === token);
        break;
      }
      case "refresh":
        what = `refresh of "${request.key}" token ${request.token} by ${request.value}`;
        matches = (r) =>
          r.type === "refreshed" && r.value === request.value && r.token === request.token;
        break;
      case "release":
        if (result.released !== true) continue;
        what = `release of "${request.key}" by ${request.value}`;
        matches = (r) =>
          r.type === "released" &&
          r.value === request.value &&
          (request.token === undefined || request.token === 0 || r.token === request.token);
        break;
      case "cancel":
        if (result.cancelled !== true) continue;
        what = `cancel of ${request.value}'s wait for "${request.key}"`;
        matches = (r) =>
          r.type === "waiterRemoved" && r.reason === "cancelled" && r.value === request.value;
        break;
      default:
        continue;
    }
    const candidates = (byKey.get(request.key) ?? []).filter((entry) => matches(entry.result));
    const applied = candidates.filter((entry) => entry.appliedMs <= op.returnMs!);
    const [firstApplied] = applied;
    if (firstApplied === undefined) {
      const [first] = candidates;
      return new SafetyViolation(
        "acknowledgement",
        `${op.client} was told its ${what} succeeded at ${op.returnMs.toFixed(3)} ms, but ` +
          (first === undefined
            ? "no committed entry has that result"
            : `the entry with that result was first applied only at ` +
              `${first.appliedMs.toFixed(3)} ms`),
      );
    }
    const survived = applied.some((entry) => {
      const chain = finalChainAt(entry.index);
      return chain === null || chain === entry.chain;
    });
    if (!survived) {
      return new SafetyViolation(
        "acknowledgement",
        `${op.client}'s acknowledged ${what} (index ${firstApplied.index}) is not in the final log`,
      );
    }
  }
  return null;
}
