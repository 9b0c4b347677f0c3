import { SafetyViolation } from "../violation.js";

/** What the liveness phase of a lock run observed, in true ms. */
export interface LockLivenessObservation {
  /** When the faults stopped (everything healed, restarted, resumed). */
  healMs: number;
  /** The stated bound (lockLivenessBoundMs). */
  boundMs: number;
  /** Locker calls in progress at the heal or started after it, with when they settled (null: never). */
  calls: { client: string; what: string; startedMs: number; settledMs: number | null }[];
  /**
   * Per key, when a fresh client got it after the heal (null: never within the bound), or the
   * refusal of its semaphore acquire on the permit count (null: none).
   */
  probes: { key: string; grantedMs: number | null; permitsRefusal?: PermitsRefusal | null }[];
}

/**
 * A probe's semaphore acquire the cluster refused on its permit count: the permits asked, when,
 * and the replicated semaphorePermitsMax in force then (null: no setLimits entry applied yet).
 */
export interface PermitsRefusal {
  permits: number;
  atMs: number;
  permitsMaxInForce: number | null;
}

/**
 * Liveness after heal (docs/design.md §2): with a majority up and connected, every pending request
 * completes, and every key (released, or expired after its holder vanished) can be taken again,
 * both within the bound from the heal.
 */
export function checkLockLiveness(observation: LockLivenessObservation): SafetyViolation | null {
  const deadlineMs = observation.healMs + observation.boundMs;
  for (const call of observation.calls) {
    if (call.settledMs === null || call.settledMs > deadlineMs) {
      return new SafetyViolation(
        "lockLiveness",
        `${call.client}'s ${call.what} (started at ${call.startedMs.toFixed(1)} ms) had not ` +
          `completed ${observation.boundMs} ms after the faults stopped at ` +
          `${observation.healMs.toFixed(1)} ms`,
      );
    }
  }
  for (const probe of observation.probes) {
    const refusal = probe.permitsRefusal ?? null;
    if (refusal !== null) {
      // Liveness cannot be asked of a request the limits in force make invalid: members with
      // different flags replicate their leader's limits, which may allow fewer permits than the
      // key was used with. The limits replicated by then must really forbid it.
      const { permits, permitsMaxInForce } = refusal;
      if (permitsMaxInForce !== null && permits > permitsMaxInForce) continue;
      return new SafetyViolation(
        "lockLiveness",
        `key "${probe.key}": the probe's semaphore acquire of ${permits} permits was refused ` +
          `at ${refusal.atMs.toFixed(1)} ms, though the replicated limits in force allowed ` +
          (permitsMaxInForce === null ? "any (no setLimits entry applied)" : permitsMaxInForce),
      );
    }
    if (probe.grantedMs === null || probe.grantedMs > deadlineMs) {
      return new SafetyViolation(
        "lockLiveness",
        `key "${probe.key}" could not be taken within ${observation.boundMs} ms after the ` +
          `faults stopped at ${observation.healMs.toFixed(1)} ms`,
      );
    }
  }
  return null;
}
