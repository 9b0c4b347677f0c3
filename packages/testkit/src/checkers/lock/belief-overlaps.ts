import type { Belief } from "../../lock/lock-history.js";
import { beliefEndMs, beliefsByKey } from "../../lock/lock-history.js";
import type { CommittedGrant } from "./committed-grants.js";

// When a holder's belief in a grant really ends (beliefEndMs: released, lost, crashed, or earlier
// when its own validity ran out) decides every "one holder at a time" property: of a lock key
// (mutual exclusion) and of an election (one leader). These finders apply that rule; each checker
// words what they find as its own property.

/** A belief in an earlier grant that lasted past the moment a later grant of its key existed. */
export interface BeliefOutlivingGrant {
  key: string;
  belief: Belief;
  earlier: CommittedGrant;
  later: CommittedGrant;
  /** When the belief really ended (true ms): after later.appliedMs. */
  endMs: number;
}

/**
 * For successive grants of a key in commit order, the first belief in the earlier grant that had
 * not ended when the later one was first applied anywhere, or null.
 */
export function beliefOutlivingNextGrant(
  grantsByKey: ReadonlyMap<string, readonly CommittedGrant[]>,
  beliefs: readonly Belief[],
): BeliefOutlivingGrant | null {
  const beliefsByGrant = new Map<string, Belief[]>();
  for (const belief of beliefs) {
    const id = `${belief.key}\u0000${belief.token}`;
    let list = beliefsByGrant.get(id);
    if (list === undefined) beliefsByGrant.set(id, (list = []));
    list.push(belief);
  }
  for (const [key, grants] of grantsByKey) {
    for (let i = 0; i + 1 < grants.length; i++) {
      const earlier = grants[i]!; // i + 1 < grants.length
      const later = grants[i + 1]!;
      for (const belief of beliefsByGrant.get(`${key}\u0000${earlier.token}`) ?? []) {
        const endMs = beliefEndMs(belief);
        if (endMs > later.appliedMs) return { key, belief, earlier, later, endMs };
      }
    }
  }
  return null;
}

/** Two beliefs in different grants of one key that overlap in true time, from fromMs to toMs. */
export interface BeliefOverlap {
  key: string;
  first: Belief;
  second: Belief;
  fromMs: number;
  toMs: number;
}

/** Up to `max` pairs of beliefs in different grants of one key that overlap in true time. */
export function overlappingBeliefs(
  beliefs: readonly Belief[],
  max = Number.POSITIVE_INFINITY,
): BeliefOverlap[] {
  const found: BeliefOverlap[] = [];
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
        found.push({
          key,
          first: latest.belief,
          second: interval.belief,
          fromMs: interval.startMs,
          toMs: Math.min(latest.endMs, interval.endMs),
        });
        if (found.length >= max) return found;
      }
      if (latest === null || interval.endMs > latest.endMs) latest = interval;
    }
  }
  return found;
}
