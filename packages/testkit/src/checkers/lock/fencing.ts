import type { ResourceWrite } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";
import type { CommittedGrant } from "./committed-grants.js";

/**
 * Fencing (docs/design.md §2): (1) the tokens of a key's grants strictly increase in commit order;
 * (2) the fenced resource, which rejects writes with a lower token than it has seen, never
 * accepts a write of an earlier grant (in commit order) after a write of a later grant;
 * (3) the tokens that believed-valid holders send only increase in the order they send them
 * (zombie writes, sent without checking, are left to the resource to reject).
 *
 * Returns the violation, or null.
 */
export function checkFencing(
  grantsByKey: ReadonlyMap<string, readonly CommittedGrant[]>,
  writes: readonly ResourceWrite[],
): SafetyViolation | null {
  const rankOf = new Map<string, number>();
  for (const [key, grants] of grantsByKey) {
    for (let i = 0; i < grants.length; i++) {
      const grant = grants[i];
      if (i > 0 && grant.token <= grants[i - 1].token) {
        return new SafetyViolation(
          "fencing",
          `key "${key}": grant at index ${grant.index} has token ${grant.token}, not above ` +
            `the earlier grant's ${grants[i - 1].token} (index ${grants[i - 1].index})`,
        );
      }
      rankOf.set(`${key}\u0000${grant.token}`, i);
    }
  }

  const arrived = writes
    .filter((write) => write.accepted === true && write.arriveMs !== null)
    .sort((a, b) => a.arriveMs! - b.arriveMs! || a.issueMs - b.issueMs);
  const lastAccepted = new Map<string, { rank: number; write: ResourceWrite }>();
  for (const write of arrived) {
    const rank = rankOf.get(`${write.key}\u0000${write.token}`);
    if (rank === undefined) {
      return new SafetyViolation(
        "fencing",
        `the resource accepted a write to "${write.key}" with token ${write.token} from ` +
          `${write.client}, a token no committed grant of that key carries`,
      );
    }
    const last = lastAccepted.get(write.key);
    if (last !== undefined && rank < last.rank) {
      return new SafetyViolation(
        "fencing",
        `the resource accepted ${write.client}'s write to "${write.key}" (token ${write.token}) ` +
          `at ${write.arriveMs!.toFixed(3)} ms after ${last.write.client}'s write of a later grant ` +
          `(token ${last.write.token})`,
      );
    }
    if (last === undefined || rank > last.rank) lastAccepted.set(write.key, { rank, write });
  }

  const issued = writes.filter((write) => write.believed).sort((a, b) => a.issueMs - b.issueMs);
  const lastIssued = new Map<string, ResourceWrite>();
  for (const write of issued) {
    const last = lastIssued.get(write.key);
    if (last !== undefined && write.token < last.token) {
      return new SafetyViolation(
        "fencing",
        `key "${write.key}": ${write.client} believed it held token ${write.token} and wrote at ` +
          `${write.issueMs.toFixed(3)} ms, after ${last.client} had written with token ` +
          `${last.token} at ${last.issueMs.toFixed(3)} ms`,
      );
    }
    if (last === undefined || write.token > last.token) lastIssued.set(write.key, write);
  }
  return null;
}
