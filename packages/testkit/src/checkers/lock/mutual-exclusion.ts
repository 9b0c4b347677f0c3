import type { Belief } from "../../lock/lock-history.js";
import { beliefEndMs, beliefsByKey } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";
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
  const beliefsByGrant = new Map<string, Belief[]>();
  for (const belief of beliefs) {
    const id = `${belief.key}\u0000${belief.token}`;
    let list = beliefsByGrant.get(id);
    if (list === undefined) beliefsByGrant.set(id, (list = []));
    list.push(belief);
  }
  for (const [key, grants] of grantsByKey) {
    for (let i = 0; i + 1 < grants.length; i++) {
      const earlier = grants[i];
      const later = grants[i + 1];
      for (const belief of beliefsByGrant.get(`${key}\u0000${earlier.token}`) ?? []) {
        const endMs = beliefEndMs(belief);
        if (endMs > later.appliedMs) {
          return new SafetyViolation(
            "mutualExclusion",
            `key "${key}": ${belief.client} believed it held token ${earlier.token} ` +
              `until ${endMs.toFixed(3)} ms (true time), but token ${later.token} was granted to ` +
              `"${later.value}" at ${later.appliedMs.toFixed(3)} ms ` +
              `(${(endMs - later.appliedMs).toFixed(3)} ms of overlap)`,
          );
        }
      }
    }
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
  const found: SafetyViolation[] = [];
  for (const [key, list] of beliefsByKey(beliefs)) {
    const intervals = list
      .map((belief) => ({ belief, startMs: belief.startMs, endMs: beliefEndMs(belief) }))
      .filter((interval) => interval.endMs > interval.startMs)
      .sort((a, b) => a.startMs - b.startMs);
    let latest: (typeof intervals)[number] | null = null;
    for (const interval of intervals) {
      if (
        latest !== null &&
        interval.startMs < latest.endMs &&
        interval.belief.token !== latest.belief.token
      ) {
        found.push(
          new SafetyViolation(
            "mutualExclusion",
            `key "${key}": ${latest.belief.client} (token ${latest.belief.token}) and ` +
              `${interval.belief.client} (token ${interval.belief.token}) both believed they held ` +
              `it from ${interval.startMs.toFixed(3)} to ` +
              `${Math.min(latest.endMs, interval.endMs).toFixed(3)} ms (true time)`,
          ),
        );
        if (found.length >= max) return found;
      }
      if (latest === null || interval.endMs > latest.endMs) latest = interval;
    }
  }
  return found;
}
