// The checks a chaos history must pass. Times are the runner's monotonic clock, shared by every
// client of the run, so "at the same real moment" is well defined. Mutual exclusion and token
// order are the simulator's checkers (@dlock/testkit) on the same history format; what stays
// here is about the real processes: their operations' outcomes and the run's fenced resource.
import { ELECTION_KEY_PREFIX } from "@dlock/client";
import {
  beliefOverlaps,
  checkElectionLeadership,
  checkReaderWriterExclusion,
  checkSemaphoreCapacity,
  tokenRegressions,
} from "@dlock/testkit";
import type { Belief, PermitBelief, RwBelief } from "@dlock/testkit";
import type { History } from "./history.js";

export interface CheckResult {
  name: string;
  violations: string[];
  /** What the check looked at, to show it saw real work. */
  examined: number;
}

/**
 * The checks of every primitive's grants: locks (mutual exclusion, fencing, acknowledged
 * releases), semaphores (capacity), reader-writer locks (writer exclusion) and elections
 * (leadership and observers). Grants still
 * believed in at the end of the run count as held until `endMs`.
 */
export function checkEveryPrimitive(history: History, endMs: number): CheckResult[] {
  return [
    checkMutualExclusion(history, endMs),
    checkFencing(history),
    checkAcknowledged(history),
    checkSemaphores(history, endMs),
    checkReaderWriters(history, endMs),
    checkElections(history, endMs),
  ];
}

/**
 * No two clients believe they hold the same key at the same moment: the simulator's checker of
 * overlapping beliefs (@dlock/testkit), on this run's beliefs. Beliefs still held end at `endMs`.
 */
export function checkMutualExclusion(history: History, endMs: number): CheckResult {
  const beliefs = endedBy(lockBeliefs(history), endMs);
  const violations = beliefOverlaps(beliefs).map((violation) => violation.message);
  return { name: "locks: mutual exclusion in real time", violations, examined: beliefs.length };
}

/**
 * No semaphore has more permits believed held at one moment than its N: the simulator's checker
 * (@dlock/testkit) on this run's permit beliefs. Beliefs still held end at `endMs`.
 */
export function checkSemaphores(history: History, endMs: number): CheckResult {
  const beliefs: PermitBelief[] = endedBy(
    history.beliefs.filter((belief) => belief.permit !== undefined),
    endMs,
  ).map((belief) => ({ ...belief, ...belief.permit! }));
  const violation = checkSemaphoreCapacity(beliefs);
  return {
    name: "semaphores: at most N permits held at any moment",
    violations: violation === null ? [] : [violation.message],
    examined: beliefs.length,
  };
}

/**
 * No writer's belief overlaps another belief of its reader-writer key (a reader's or a writer's),
 * and tokens grow across beliefs that do not overlap: the simulator's checker (@dlock/testkit) on
 * this run's rw beliefs. Beliefs still held end at `endMs`.
 */
export function checkReaderWriters(history: History, endMs: number): CheckResult {
  const beliefs: RwBelief[] = endedBy(
    history.beliefs.filter((belief) => belief.rw !== undefined),
    endMs,
  ).map((belief) => ({ ...belief, mode: belief.rw! }));
  const violation = checkReaderWriterExclusion(beliefs);
  return {
    name: "rw locks: a writer alone, readers only with readers, growing tokens",
    violations: violation === null ? [] : [violation.message],
    examined: beliefs.length,
  };
}

/**
 * One leader per election at any moment, growing leadership tokens, and observers that repeat,
 * reorder or skip no leader: the simulator's checker (@dlock/testkit) without the log, so the
 * leaderships campaigners learned of are the reference. Leaderships still held end at `endMs`.
 */
export function checkElections(history: History, endMs: number): CheckResult {
  const leaderships = endedBy(
    history.beliefs.filter((belief) => belief.key.startsWith(ELECTION_KEY_PREFIX)),
    endMs,
  );
  const violations = checkElectionLeadership({
    leaderships,
    observations: history.observations,
  }).map((violation) => violation.message);
  const reports = history.observations.reduce((sum, o) => sum + o.reports.length, 0);
  return {
    name: `elections: one leader at a time, growing tokens, ${history.observations.length} observations in order`,
    violations,
    examined: leaderships.length + reports,
  };
}

/** The beliefs of plain locks (not permits, not rw holds, not leaderships). */
function lockBeliefs(history: History): Belief[] {
  return history.beliefs.filter(
    (belief) =>
      belief.permit === undefined &&
      belief.rw === undefined &&
      !belief.key.startsWith(ELECTION_KEY_PREFIX),
  );
}

/** `beliefs`, those still held ending at `endMs`. */
function endedBy<T extends Belief>(beliefs: readonly T[], endMs: number): T[] {
  return beliefs.map((belief) =>
    belief.endMs === null ? { ...belief, endMs, endReason: "running" } : belief,
  );
}

/**
 * Fencing: a later grant of a key has a higher token than every grant that ended before it (the
 * simulator's checker, @dlock/testkit), and the resource never rejected a write made while its
 * writer believed its lock valid. The second is about this run's resource, which decides a write
 * when it is sent: a later holder's write got there first only if it was made while the earlier
 * holder still believed in its lock.
 */
export function checkFencing(history: History): CheckResult {
  const beliefs = lockBeliefs(history);
  const violations = tokenRegressions(beliefs).map((violation) => violation.message);
  for (const write of history.writes) {
    if (write.believed && write.accepted === false) {
      violations.push(
        `${write.key}: the resource rejected token ${write.token} of ${write.client} at ` +
          `${rel(history, write.issueMs)} while that client believed its lock valid`,
      );
    }
  }
  return {
    name: "locks: fencing tokens",
    violations,
    examined: beliefs.length + history.writes.length,
  };
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
  return { name: "locks: acknowledged releases kept", violations, examined };
}

function rel(history: History, ms: number): string {
  return `${((ms - history.startMs) / 1000).toFixed(3)}s`;
}
