import type { Belief } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";
import { beliefOutlivingNextGrant, overlappingBeliefs } from "./belief-overlaps.js";
import type { CommittedGrant } from "./committed-grants.js";

/**
 * Mutual exclusion in real time (docs/design.md §2.2). For successive grants of a key
 * in commit order, every client belief in the earlier grant, with its "valid until" converted to
 * true time, must have ended before the later grant existed (its first application anywhere).
 * Also, directly: no two beliefs in different grants of one key overlap in true time.
 *
 * Returns the violation, or null.
 */
export function checkMutualExclusion(
  grantsByKey: ReadonlyMap<string, readonly CommittedGrant[]>,
  beliefs: readonly Belief[],
): SafetyViolation | null {
  const outliving = beliefOutlivingNextGrant(grantsByKey, beliefs);
  if (outliving !== null) {
    const { key, belief, earlier, later, endMs } = outliving;
    return new SafetyViolation(
      "mutualExclusion",
      `key "${key}": ${belief.client} believed it held token ${earlier.token} ` +
        `until ${endMs.toFixed(3)} ms (true time), but token ${later.token} was granted to ` +
        `"${later.value}" at ${later.appliedMs.toFixed(3)} ms ` +
        `(${(endMs - later.appliedMs).toFixed(3)} ms of overlap)`,
    );
  }
  return beliefOverlaps(beliefs, 1)[0] ?? null;
}

/**
 * Mutual exclusion from the clients' side alone (what a history of real processes can show): two
 * beliefs in different grants of one key that overlap in true time. Returns up to `max` of them,
 * each as a violation.
 */
export function beliefOverlaps(
  beliefs: readonly Belief[],
  max = Number.POSITIVE_INFINITY,
): SafetyViolation[] {
  return overlappingBeliefs(beliefs, max).map(
    ({ key, first, second, fromMs, toMs }) =>
      new SafetyViolation(
        "mutualExclusion",
        `key "${key}": ${first.client} (token ${first.token}) and ` +
          `${second.client} (token ${second.token}) both believed they held ` +
          `it from ${fromMs.toFixed(3)} to ${toMs.toFixed(3)} ms (true time)`,
      ),
  );
}
