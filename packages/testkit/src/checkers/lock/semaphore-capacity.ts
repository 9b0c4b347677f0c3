import type { Belief } from "../../lock/lock-history.js";
import { beliefEndMs } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";

/** A client's belief that it holds `count` of the `permits` permits of a semaphore key. */
export interface PermitBelief extends Belief {
  permits: number;
  count: number;
}

/**
 * The semaphore's safety in real time: at no instant of true time do the beliefs of one key
 * hold more than its N permits. A belief counts from its start until it really ended
 * (beliefEndMs: the release, loss or crash, or earlier the end of its validity, the same
 * lease-validity rule the exclusive lock's checker uses); intervals are half-open, so one that
 * ends exactly when another starts never overlaps it. Every belief of a key must name the same N
 * (the cluster fixes it while the key is in use). Returns the first violation, or null.
 */
export function checkSemaphoreCapacity(beliefs: readonly PermitBelief[]): SafetyViolation | null {
  const byKey = new Map<string, PermitBelief[]>();
  for (const belief of beliefs) {
    const list = byKey.get(belief.key);
    if (list === undefined) byKey.set(belief.key, [belief]);
    else list.push(belief);
  }
  for (const [key, list] of byKey) {
    const permits = list[0]!.permits;
    const edges: Array<{ atMs: number; delta: number; belief: PermitBelief }> = [];
    for (const belief of list) {
      if (belief.permits !== permits)
        return new SafetyViolation(
          "semaphoreCapacity",
          `key "${key}": ${belief.client} held permits of a ${belief.permits}-permit semaphore while others held it with ${permits}`,
        );
      const endMs = beliefEndMs(belief);
      if (!(endMs > belief.startMs)) continue;
      edges.push({ atMs: belief.startMs, delta: belief.count, belief });
      edges.push({ atMs: endMs, delta: -belief.count, belief });
    }
    // Ends before starts at the same instant: the intervals are half-open.
    edges.sort((a, b) => a.atMs - b.atMs || a.delta - b.delta);
    let held = 0;
    const inside = new Set<PermitBelief>();
    for (const edge of edges) {
      held += edge.delta;
      if (edge.delta < 0) {
        inside.delete(edge.belief);
        continue;
      }
      inside.add(edge.belief);
      if (held > permits) {
        const holders = [...inside].map((b) => `${b.client} ×${b.count} (token ${b.token})`);
        return new SafetyViolation(
          "semaphoreCapacity",
          `key "${key}": ${held} of ${permits} permits believed held at ${edge.atMs.toFixed(3)} ms (true time): ${holders.join(", ")}`,
        );
      }
    }
  }
  return null;
}
