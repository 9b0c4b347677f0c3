import type { Belief, ResourceWrite } from "../../lock/lock-history.js";
import { beliefEndMs, beliefsByKey } from "../../lock/lock-history.js";
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
    for (const [i, grant] of grants.entries()) {
      const previous = grants[i - 1];
      if (previous !== undefined && grant.token <= previous.token) {
        return new SafetyViolation(
          "fencing",
          `key "${key}": grant at index ${grant.index} has token ${grant.token}, not above ` +
            `the earlier grant's ${previous.token} (index ${previous.index})`,
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

/** A belief that started after a belief of its key with a token as high or higher had ended. */
export interface TokenRegression {
  key: string;
  belief: Belief;
  /** The highest-token belief of the key that had ended before `belief` started. */
  highest: Belief;
}

/**
 * Token order from the clients' side alone: up to `max` beliefs that start after another belief
 * of their key has ended but carry a token not above it (the same grant renewed by the same
 * client is no regression).
 */
export function regressingBeliefs(
  beliefs: readonly Belief[],
  max = Number.POSITIVE_INFINITY,
): TokenRegression[] {
  const found: TokenRegression[] = [];
  for (const [key, list] of beliefsByKey(beliefs)) {
    const started = [...list].sort((a, b) => a.startMs - b.startMs);
    const ended = list
      .map((belief) => ({ belief, endMs: beliefEndMs(belief) }))
      .filter((entry) => Number.isFinite(entry.endMs))
      .sort((a, b) => a.endMs - b.endMs);
    let next = 0;
    // The highest-token belief among those that ended before the current one started.
    let highest: Belief | null = null;
    for (const belief of started) {
      for (let end = ended[next]; end !== undefined && end.endMs <= belief.startMs;) {
        if (highest === null || end.belief.token > highest.token) highest = end.belief;
        end = ended[++next];
      }
      if (highest === null || highest === belief || belief.token > highest.token) continue;
      if (belief.token === highest.token && belief.client === highest.client) continue;
      found.push({ key, belief, highest });
      if (found.length >= max) return found;
    }
  }
  return found;
}

/**
 * Fencing from the clients' side alone (what a history of real processes can show): a belief that
 * starts after another belief of the key has ended carries a higher token, or the same grant
 * renewed by the same client. The simulator gets this from commit order (checkFencing and
 * checkMutualExclusion); the chaos runs, which see no commits, from this. Returns up to `max`.
 */
export function tokenRegressions(
  beliefs: readonly Belief[],
  max = Number.POSITIVE_INFINITY,
): SafetyViolation[] {
  return regressingBeliefs(beliefs, max).map(
    ({ key, belief, highest }) =>
      new SafetyViolation(
        "fencing",
        `key "${key}": token ${belief.token} was granted to ${belief.client} at ` +
          `${belief.startMs.toFixed(3)} ms, after token ${highest.token} of ${highest.client} ` +
          `had ended`,
      ),
  );
}
