import type { Belief } from "../../lock/lock-history.js";
import { beliefEndMs } from "../../lock/lock-history.js";
import { SafetyViolation } from "../violation.js";

/** A client's belief that it holds a reader-writer key as a reader or as its writer. */
export interface RwBelief extends Belief {
  mode: "read" | "write";
}

/**
 * The reader-writer lock's safety in real time: at no instant of true time does a writer's
 * belief overlap another belief of its key (a reader's or another writer's), and fencing tokens
 * are monotone: a belief that ended before another began, a writer being either of them, has a
 * smaller token. A belief counts from its start until it really ended (beliefEndMs: the release,
 * loss or crash, or earlier the end of its validity, the same lease-validity rule as the exclusive
 * lock's and the semaphore's checkers); intervals are half-open. Readers may overlap each other
 * and share a token (granted in one step). Returns the first violation, or null.
 */
export function checkReaderWriterExclusion(beliefs: readonly RwBelief[]): SafetyViolation | null {
  const byKey = new Map<string, Array<{ belief: RwBelief; endMs: number }>>();
  for (const belief of beliefs) {
    const endMs = beliefEndMs(belief);
    if (!(endMs > belief.startMs)) continue;
    const list = byKey.get(belief.key);
    if (list === undefined) byKey.set(belief.key, [{ belief, endMs }]);
    else list.push({ belief, endMs });
  }
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.belief.startMs - b.belief.startMs);
    for (const [i, a] of list.entries()) {
      for (const b of list.slice(i + 1)) {
        if (a.belief.mode === "read" && b.belief.mode === "read") continue;
        const what = `${describe(a.belief)} and ${describe(b.belief)}`;
        // b starts no earlier than a: they overlap unless a ended by then.
        if (b.belief.startMs < a.endMs)
          return new SafetyViolation(
            "readerWriterExclusion",
            `key "${key}": ${what} both believed held at ${b.belief.startMs.toFixed(3)} ms (true time)`,
          );
        if (!(a.belief.token < b.belief.token))
          return new SafetyViolation(
            "readerWriterExclusion",
            `key "${key}": ${what}: the later grant's fencing token is not greater`,
          );
      }
    }
  }
  return null;
}

function describe(belief: RwBelief): string {
  const role = belief.mode === "write" ? "writer" : "reader";
  return `${role} ${belief.client} (token ${belief.token})`;
}
